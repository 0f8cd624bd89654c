#!/usr/bin/env bash
# Installs Ansible (ansible-core, pinned) into ./.venv-ansible, idempotently: the tests
# read `rollstack hosts --format ansible` back with a real `ansible-inventory`. Its own
# virtualenv, so its pins never meet moto's.
set -euo pipefail
cd "$(dirname "$0")/.."
ANSIBLE_VERSION="2.19.14"
VENV=".venv-ansible"
if [[ -x "$VENV/bin/ansible-inventory" ]] && "$VENV/bin/python" -c "import ansible.release as r, sys; sys.exit(r.__version__ != '$ANSIBLE_VERSION')" 2>/dev/null; then
  exit 0
fi
echo "installing ansible-core==$ANSIBLE_VERSION into $VENV" >&2
python3 -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "ansible-core==$ANSIBLE_VERSION"
