#!/usr/bin/env bash
# Runs every test of the workspace: unit, integration, UI (trybuild), property tests,
# expansion snapshots and doctests. Sets the machine up first when something is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh
# Test binaries reused from a build in another checkout (a shared CARGO_TARGET_DIR) would
# look for their snapshots there.
export INSTA_WORKSPACE_ROOT="$PWD"
# Everything, with Arrow for #[derive(KalamTable)].
cargo test --workspace --locked --features kalam/arrow "$@"
# The table derive again without Arrow, as a user without the feature builds it.
cargo test --locked -p kalam --test table "$@"
