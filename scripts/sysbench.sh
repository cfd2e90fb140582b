#!/usr/bin/env bash
# The real sysbench (Debian's, its stock Lua tests in /usr/share/sysbench) against
# `kalam serve` and against a PostgreSQL 15 of its own, over the wire, with Dolt's
# settings: --table-size=10000 --rand-type=uniform --rand-seed=1 --percentile=50, one
# thread and then more, the pgsql driver with prepared statements and without.
#
#   scripts/sysbench.sh [--time S] [--threads "1 2 4 8"] [--ps-modes "auto disable"]
#                       [--tests "oltp_point_select ..."] [--table-size N] [--out DIR]
#                       [--smoke]
#
# Installs sysbench and PostgreSQL from Debian's packages when missing, builds the release
# `kalam` (KALAM_BIN names another), and starts both servers on free loopback ports in a
# temporary directory, stopped and removed at the end. PostgreSQL refuses to run as root:
# initdb and postgres run as the `postgres` user its package creates.
#
# Durability is matched: the engine acknowledges a write once it is in RocksDB's
# write-ahead log, without an fsync; PostgreSQL runs with fsync = off (its WAL is
# written at each commit, not flushed). Both survive a killed process, neither a power
# loss.
#
# Writes DIR/results.jsonl (one line per run), DIR/report.json and DIR/report.html, and
# prints the table: multiplier = p50(kalam) / p50(postgres) per test, Dolt's means.
set -euo pipefail
cd "$(dirname "$0")/.."

time_s=10
threads="1 2 4 8"
ps_modes="auto disable"
table_size=10000
out=target/sysbench
tests="oltp_point_select oltp_read_only oltp_read_write oltp_write_only oltp_update_index
oltp_update_non_index oltp_insert oltp_delete select_random_points select_random_ranges
bulk_insert"
while (($#)); do
    case "$1" in
        --time) time_s=$2; shift 2 ;;
        --threads) threads=$2; shift 2 ;;
        --ps-modes) ps_modes=$2; shift 2 ;;
        --tests) tests=$2; shift 2 ;;
        --table-size) table_size=$2; shift 2 ;;
        --out) out=$2; shift 2 ;;
        # A check that everything runs, not a measurement: tiny tables, one second each.
        --smoke) time_s=1; threads="1 2"; table_size=100; ps_modes="auto disable"; shift ;;
        -h|--help) sed -n '2,22p' "$0"; exit 0 ;;
        *) echo "sysbench.sh: unknown option $1 (--help lists them)" >&2; exit 2 ;;
    esac
done

say() { printf 'sysbench.sh: %s\n' "$*" >&2; }

# Packages: sysbench, and a PostgreSQL 15 server (its binaries, not a running cluster).
pgbin=/usr/lib/postgresql/15/bin
missing=()
command -v sysbench >/dev/null 2>&1 || missing+=(sysbench)
[[ -x $pgbin/postgres ]] || missing+=(postgresql-15)
command -v psql >/dev/null 2>&1 || missing+=(postgresql-client)
if ((${#missing[@]})); then
    sudo=()
    [[ $(id -u) -eq 0 ]] || sudo=(sudo)
    say "installing ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}" >&2
fi
[[ -d /usr/share/sysbench ]] || { say "no stock Lua tests in /usr/share/sysbench"; exit 1; }

if [[ -z ${KALAM_BIN:-} ]]; then
    bash scripts/setup.sh
    say "building the release kalam"
    cargo build --release --locked -p kalam-engine --bin kalam >&2
    KALAM_BIN="${CARGO_TARGET_DIR:-target}/release/kalam"
fi

work=$(mktemp -d)
chmod 755 "$work"
pg_started=
kalam_pid=
cleanup() {
    if [[ -n $kalam_pid ]]; then
        kill -TERM "$kalam_pid" 2>/dev/null || true
        wait "$kalam_pid" 2>/dev/null || true
    fi
    if [[ -n $pg_started ]]; then
        as_postgres "$pgbin/pg_ctl" -D "$work/pg" -m fast -w stop >/dev/null 2>&1 || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
as_postgres() {
    if [[ $(id -u) -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# PostgreSQL 15 of its own.
pg_port=$(free_port)
mkdir -p "$work/pg"
[[ $(id -u) -ne 0 ]] || chown postgres "$work/pg"
echo "sbtest-pw" >"$work/pwfile"
chmod 644 "$work/pwfile"
as_postgres "$pgbin/initdb" -D "$work/pg" -U postgres -A scram-sha-256 --pwfile="$work/pwfile" >/dev/null
cat >>"$work/pg/postgresql.conf" <<EOF
listen_addresses = '127.0.0.1'
port = $pg_port
unix_socket_directories = '$work/pg'
fsync = off
max_connections = 100
EOF
as_postgres "$pgbin/pg_ctl" -D "$work/pg" -l "$work/pg/log" -w start >/dev/null
pg_started=1
PGPASSWORD=sbtest-pw psql -X -q -h 127.0.0.1 -p "$pg_port" -U postgres -d postgres \
    -c "CREATE ROLE sbtest LOGIN PASSWORD 'sbtest-pw'" -c "CREATE DATABASE sbtest OWNER sbtest"
pg_version=$(PGPASSWORD=sbtest-pw psql -X -At -h 127.0.0.1 -p "$pg_port" -U sbtest -d sbtest -c "SHOW server_version")

# kalam serve, with the same user and database (a namespace).
kalam_port=$(free_port)
KALAM_ROOT_PASSWORD=root-pw "$KALAM_BIN" serve --data "$work/kalam" \
    --listen "127.0.0.1:$kalam_port" 2>"$work/kalam.log" &
kalam_pid=$!
for _ in $(seq 100); do
    grep -q "listening on" "$work/kalam.log" 2>/dev/null && break
    sleep 0.1
done
grep -q "listening on" "$work/kalam.log" || { cat "$work/kalam.log" >&2; exit 1; }
PGPASSWORD=root-pw psql -X -q -h 127.0.0.1 -p "$kalam_port" -U root -d postgres \
    -c "CREATE NAMESPACE sbtest" -c "CREATE USER sbtest WITH PASSWORD 'sbtest-pw' ROLE dba"

mkdir -p "$out"
results="$out/results.jsonl"
: >"$results"
# --auto-inc=off on both sides: the stock scripts' default declares the id SERIAL, a type
# the engine has not; off, they declare it INTEGER and send the ids themselves.
common=(--db-driver=pgsql --pgsql-host=127.0.0.1 --pgsql-user=sbtest --pgsql-password=sbtest-pw
    --pgsql-db=sbtest --tables=1 --table-size="$table_size" --rand-type=uniform --rand-seed=1
    --percentile=50 --auto-inc=off)

# One run: prints a JSON line of its figures, or fails with sysbench's output.
run() {
    local side=$1 port=$2 test=$3 n=$4 mode=$5 log="$work/run.log"
    if ! sysbench "$test" "${common[@]}" --pgsql-port="$port" --threads="$n" \
        --db-ps-mode="$mode" --time="$time_s" run >"$log" 2>&1; then
        say "$test on $side ($n threads, ps-mode $mode) failed:"
        tail -20 "$log" | cut -c1-300 >&2
        return 1
    fi
    python3 - "$log" "$side" "$test" "$n" "$mode" <<'EOF'
import json, re, sys
log, side, test, threads, mode = sys.argv[1:]
text = open(log).read()
def number(pattern):
    m = re.search(pattern, text)
    return float(m.group(1)) if m else None
print(json.dumps({
    "side": side, "test": test, "threads": int(threads), "ps_mode": mode,
    "p50_ms": number(r"50th percentile:\s+([\d.]+)"),
    "tps": number(r"transactions:\s+\d+\s+\(([\d.]+) per sec"),
    "qps": number(r"queries:\s+\d+\s+\(([\d.]+) per sec"),
    "events": number(r"total number of events:\s+(\d+)"),
}))
EOF
}

cleanup_tables() {
    sysbench "$2" "${common[@]}" --pgsql-port="$1" --threads="$3" cleanup >/dev/null 2>&1 || true
}

# Fresh tables for a test (bulk_insert: one per thread).
prepare() {
    local side=$1 port=$2 test=$3 n=$4
    say "$test on $side: prepare"
    cleanup_tables "$port" "$test" "${threads##* }"
    if ! sysbench "$test" "${common[@]}" --pgsql-port="$port" --threads="$n" prepare >"$work/prepare.log" 2>&1; then
        say "$test on $side: prepare failed:"
        tail -20 "$work/prepare.log" | cut -c1-300 >&2
        return 1
    fi
}

sides=("kalam $kalam_port" "postgres $pg_port")
failed=0
for test in $tests; do
    for side in "${sides[@]}"; do
        read -r name port <<<"$side"
        # bulk_insert makes a table per thread and inserts the same ids at each run: it
        # starts from new tables every time; the others prepare once.
        fresh=$([[ $test == bulk_insert ]] && echo each-run || echo once)
        if [[ $fresh == once ]]; then
            prepare "$name" "$port" "$test" 1 || { failed=1; continue; }
        fi
        for mode in $ps_modes; do
            for n in $threads; do
                if [[ $fresh == each-run ]]; then
                    prepare "$name" "$port" "$test" "$n" || { failed=1; continue; }
                fi
                say "$test on $name: $n threads, ps-mode $mode"
                run "$name" "$port" "$test" "$n" "$mode" >>"$results" || failed=1
            done
        done
        cleanup_tables "$port" "$test" "${threads##* }"
    done
done

python3 scripts/sysbench-report.py "$results" "$out" \
    --time "$time_s" --table-size "$table_size" --postgres "$pg_version" \
    --cpu "$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)"
exit "$failed"
