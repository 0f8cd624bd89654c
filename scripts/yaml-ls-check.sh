#!/usr/bin/env bash
# What an editor shows for a stack file: installs yaml-language-server (pinned, npm)
# into ./.tools and prints its completion inside `groups.*.rollout` and its hovers, as
# JSON (scripts/yaml-ls-check.cjs).
set -euo pipefail
cd "$(dirname "$0")/.."
YAML_LS_VERSION="1.19.2"
TOOLS=".tools"
if [[ ! -f "$TOOLS/node_modules/yaml-language-server/package.json" ]] ||
  ! grep -q "\"version\": \"$YAML_LS_VERSION\"" "$TOOLS/node_modules/yaml-language-server/package.json"; then
  echo "installing yaml-language-server@$YAML_LS_VERSION (npm) into $TOOLS" >&2
  npm install --silent --no-audit --no-fund --prefix "$TOOLS" "yaml-language-server@$YAML_LS_VERSION" >&2
fi
exec node scripts/yaml-ls-check.cjs "$TOOLS/node_modules/yaml-language-server"
