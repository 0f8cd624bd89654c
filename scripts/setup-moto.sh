#!/usr/bin/env bash
# Installs the local AWS endpoint (moto server, pinned) into ./.venv, idempotently.
set -euo pipefail
cd "$(dirname "$0")/.."
MOTO_VERSION="5.2.5"
VENV=".venv"
if [[ -x "$VENV/bin/python" ]] && "$VENV/bin/python" -c "import moto, sys; sys.exit(moto.__version__ != '$MOTO_VERSION')" 2>/dev/null; then
  exit 0
fi
echo "installing moto[server]==$MOTO_VERSION into $VENV" >&2
python3 -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "moto[server]==$MOTO_VERSION"
