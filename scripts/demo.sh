#!/usr/bin/env bash
# The local demo: check the demo stack and show what it would create, in order.
# (plan/apply against the local endpoint join this demo as those commands land.)
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ -z "${CARGO_TARGET_DIR:-}" ]]; then
  export CARGO_TARGET_DIR="$HOME/.cache/rollstack-target"
  mkdir -p "$CARGO_TARGET_DIR"
fi
cargo build --locked --quiet
bin="$CARGO_TARGET_DIR/debug/rollstack"
set -x
"$bin" validate stacks/demo.yaml stacks/shop.yaml
"$bin" graph stacks/demo.yaml
"$bin" graph stacks/shop.yaml --env prod --format mermaid
