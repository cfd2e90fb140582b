#!/usr/bin/env bash
# What the derives cost at build time (the README's "Compile-time cost" section).
#
# Generates three crates with the same N structs (default 200):
#   plain   #[derive(Clone, Debug, PartialEq)]
#   kalam   the same, plus #[derive(KalamTable, AlignedModel)] and #[hot] accessors
#   serde   the same, plus #[derive(Serialize, Deserialize)]
# builds their dependencies once, then times a rebuild of each crate alone (its macros
# expanded and its code compiled, debug profile), RUNS times, and prints the medians and
# the ratios.
#
#   scripts/compile-cost.sh [N] [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
n=${1:-200}
runs=${2:-3}
work=$(mktemp -d "${TMPDIR:-/tmp}/kalam-compile-cost.XXXXXX")
trap 'rm -rf "$work"' EXIT

cp rust-toolchain.toml "$work/"
cat >"$work/Cargo.toml" <<TOML
[workspace]
members = ["plain", "kalam", "serde"]
resolver = "3"

[workspace.dependencies]
kalam = { path = "$repo" }
serde = { version = "1", features = ["derive"] }
TOML

# One struct: six fields of the usual kinds.
struct() { # $1 = crate, $2 = index
    local derives="Clone, Debug, PartialEq" table="" hot="" key=""
    case $1 in
    kalam)
        derives="$derives, kalam::KalamTable, kalam::AlignedModel"
        table="#[table(name = \"t$2\", namespace = \"bench\")]"
        hot="#[hot] "
        key="#[column(primary_key)] "
        ;;
    serde) derives="$derives, serde::Serialize, serde::Deserialize" ;;
    esac
    cat <<RS
#[derive($derives)]
$table
pub struct Row$2 {
    $hot$key pub id: u64,
    $hot pub a: i64,
    $hot pub b: i32,
    $hot pub name: String,
    $hot pub flag: bool,
    $hot pub score: f64,
}

RS
}

for crate in plain kalam serde; do
    mkdir -p "$work/$crate/src"
    dep=""
    [[ $crate != plain ]] && dep="$crate.workspace = true"
    cat >"$work/$crate/Cargo.toml" <<TOML
[package]
name = "cost-$crate"
version = "0.0.0"
edition = "2024"
publish = false

[dependencies]
$dep
TOML
    {
        echo "//! $n generated structs."
        for ((i = 0; i < n; i++)); do struct "$crate" "$i"; done
    } >"$work/$crate/src/lib.rs"
done

export CARGO_TARGET_DIR="$work/target"
echo "building the dependencies once..." >&2
(cd "$work" && cargo build --quiet --offline --workspace)

median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
declare -A time
for crate in plain kalam serde; do
    samples=()
    for ((r = 0; r < runs; r++)); do
        touch "$work/$crate/src/lib.rs"
        start=$(date +%s.%N)
        (cd "$work" && cargo build --quiet --offline -p "cost-$crate")
        end=$(date +%s.%N)
        samples+=("$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.3f", b - a }')")
    done
    time[$crate]=$(printf '%s\n' "${samples[@]}" | median)
done

printf '%d structs, debug build of the crate alone, median of %d runs\n' "$n" "$runs"
printf '%-8s %8.2f s\n' plain "${time[plain]}" kalam "${time[kalam]}" serde "${time[serde]}"
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
printf 'kalam / plain  %s\n' "$(ratio "${time[kalam]}" "${time[plain]}")"
printf 'serde / plain  %s\n' "$(ratio "${time[serde]}" "${time[plain]}")"
printf 'kalam / serde  %s\n' "$(ratio "${time[kalam]}" "${time[serde]}")"
