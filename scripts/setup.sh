#!/usr/bin/env bash
# Makes this machine ready to build Kalam: the pinned Rust toolchain with rustfmt and
# clippy, and the Debian packages listed in scripts/debian-packages.txt. Installs only
# what is missing; safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf 'setup: %s\n' "$*" >&2; }

toolchain=$(sed -n 's/^channel = "\(.*\)"/\1/p' rust-toolchain.toml)
if ! command -v cargo >/dev/null 2>&1; then
    say "cargo is not installed; install rustup, then run this again"
    exit 1
fi
if ! rustup toolchain list | grep -q "^${toolchain}"; then
    say "installing Rust ${toolchain}"
    rustup toolchain install "${toolchain}" --profile minimal --component rustfmt,clippy
fi
for component in rustfmt clippy; do
    if ! rustup component list --toolchain "${toolchain}" --installed | grep -q "^${component}"; then
        say "adding ${component} to ${toolchain}"
        rustup component add --toolchain "${toolchain}" "${component}"
    fi
done

# Debian packages: one per line, comments after '#'.
mapfile -t wanted < <(sed 's/#.*//; s/^[[:space:]]*//; s/[[:space:]]*$//; /^$/d' scripts/debian-packages.txt)
missing=()
for package in "${wanted[@]}"; do
    dpkg-query -W -f='${Status}' "${package}" 2>/dev/null | grep -q 'install ok installed' ||
        missing+=("${package}")
done
if ((${#missing[@]})); then
    if ! command -v apt-get >/dev/null 2>&1; then
        say "missing system packages (${missing[*]}) and no apt-get to install them"
        exit 1
    fi
    sudo=()
    [[ $(id -u) -eq 0 ]] || sudo=(sudo)
    say "installing ${missing[*]}"
    "${sudo[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq "${missing[@]}"
fi
