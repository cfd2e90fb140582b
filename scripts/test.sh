#!/usr/bin/env bash
# Runs every test of the workspace: unit, integration, UI (trybuild), property tests,
# expansion snapshots and doctests. Sets the machine up first when something is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh
# Everything, with Arrow for #[derive(KalamTable)].
cargo test --workspace --locked --features kalam/arrow "$@"
# The table derive again without Arrow, as a user without the feature builds it.
cargo test --locked -p kalam --test table "$@"
