#!/usr/bin/env bash
# The main job: `kalam bench`, the sysbench-style suite on the engine (embedded RocksDB in
# a temporary directory) and on SQLite, side by side. Sets the machine up first when
# something is missing, then builds the release binary (the first build compiles RocksDB
# and DataFusion with optimizations: about 50 minutes from nothing on two cores).
#
#   scripts/bench.sh [kalam bench options]      (scripts/bench.sh --help lists them)
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh
exec cargo run --release --locked -p kalam-engine --bin kalam -- bench "$@"
