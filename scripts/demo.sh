#!/usr/bin/env bash
# The local demo: start the local AWS endpoint (moto), publish two releases of the demo
# app, `apply` stacks/demo.yaml from nothing, bump the app version, show the plan and
# roll it through the fleet. Nothing boots on the local endpoint, so
# scripts/instance-agent.py plays the instances and writes their readiness signals.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/rollstack-target}"
mkdir -p "$CARGO_TARGET_DIR"
scripts/setup-moto.sh >/dev/null
# ROLLSTACK names a binary already built (the test of this script passes its own).
if [[ -z "${ROLLSTACK:-}" ]]; then
  cargo build --locked --quiet --all-targets  # the features the tests build with: one build serves both
fi
bin="${ROLLSTACK:-$CARGO_TARGET_DIR/debug/rollstack}"

port=$(.venv/bin/python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
.venv/bin/python scripts/moto_harness.py "$port" >/dev/null 2>&1 &
moto=$!
bump=stacks/.demo-bump.yaml
shop=stacks/.shop-local.yaml
trap 'kill $moto ${agent:-} 2>/dev/null || true; rm -f "$bump" "$shop"' EXIT
export AWS_ENDPOINT_URL="http://127.0.0.1:$port" AWS_ACCESS_KEY_ID=demo AWS_SECRET_ACCESS_KEY=demo AWS_DEFAULT_REGION=us-east-1
until (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do sleep 0.2; done
.venv/bin/python - <<'PY'
import boto3
s3 = boto3.client("s3")
s3.create_bucket(Bucket="demo-releases")
for version in ("1.0.0", "1.1.0"):
    s3.put_object(Bucket="demo-releases", Key=f"web/{version}.tar.gz", Body=b"release")
# The instances' credentials (on AWS: stacks/templates/instance-role.yaml).
boto3.client("iam").create_instance_profile(InstanceProfileName="demo-instances")
PY
.venv/bin/python scripts/instance-agent.py demo demo-rollstack &
agent=$!

set -x
"$bin" validate stacks/demo.yaml stacks/shop.yaml
# The state bucket (lock and history): versioned, encrypted and private, as on AWS.
"$bin" bootstrap stacks/demo.yaml
"$bin" graph stacks/demo.yaml
"$bin" apply stacks/demo.yaml --auto-approve --poll-interval 1s
"$bin" plan stacks/demo.yaml --detailed-exitcode
sed 's/version: "1.0.0"/version: "1.1.0"/' stacks/demo.yaml > "$bump"
"$bin" plan "$bump" --format markdown
"$bin" apply "$bump" --auto-approve --poll-interval 1s --stats
"$bin" status "$bump"
"$bin" history "$bump"
# The larger example, planned against the local endpoint once it holds what the file
# expects of an account (scripts/local-shop.py).
{ set +x; } 2>/dev/null
.venv/bin/python scripts/local-shop.py >/dev/null
set -x
"$bin" bootstrap "$shop" --env prod
DB_PASSWORD=local-demo "$bin" plan "$shop" --env prod
# Who runs `web` now, by role (also `--format ansible` or `ssh-config`).
"$bin" hosts "$bump" --role web
