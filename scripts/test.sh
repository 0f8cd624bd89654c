#!/usr/bin/env bash
# The whole test suite: installs what the tests need, then runs them.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup-moto.sh
# `hosts --format ansible` is read back by a real `ansible-inventory`.
scripts/setup-ansible.sh
# `graph --format dot` is checked by rendering it with Graphviz.
if ! command -v dot >/dev/null 2>&1; then
  if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null 2>&1; then
    (apt-get update -qq && apt-get install -y -qq graphviz >/dev/null) || echo "warning: could not install graphviz" >&2
  else
    echo "warning: graphviz (dot) is not installed; the dot rendering test will fail" >&2
  fi
fi
# Builds go to a directory kept across runs: a cold build of the AWS SDK is slow.
if [[ -z "${CARGO_TARGET_DIR:-}" ]]; then
  export CARGO_TARGET_DIR="$HOME/.cache/rollstack-target"
  mkdir -p "$CARGO_TARGET_DIR"
fi
cargo test --locked "$@"
