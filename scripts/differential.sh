#!/usr/bin/env bash
# A longer differential run of the engine against SQLite than CI's (see
# kalam-engine/tests/differential): random schemas, rows and statements, seeded.
#
#   scripts/differential.sh [first-seed] [last-seed] [statements-per-seed]
#
# Defaults: seeds 1 to 1000, 200 statements each. A failing seed is printed with every
# statement of its run; add it to REGRESSIONS in kalam-engine/tests/differential/main.rs.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh
export KALAM_DIFF_SEEDS="${1:-1}..${2:-1000}"
export KALAM_DIFF_STATEMENTS="${3:-200}"
exec cargo test --workspace --locked --features kalam/arrow --test differential -- --nocapture
