#!/usr/bin/env bash
# Runs every test of the workspace: unit, integration, UI (trybuild), property tests,
# expansion snapshots and doctests. Sets the machine up first when something is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh
cargo test --workspace --locked "$@"
