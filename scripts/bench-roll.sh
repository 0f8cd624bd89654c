#!/usr/bin/env bash
# Benchmark (not a test): a wide release. NGROUPS groups of COUNT instances (default 20 x
# 10) roll from 1.0.0 to 1.1.0 all at once (`--parallelism NGROUPS`, `--poll-interval
# POLL`) through `scripts/fault_proxy.py --kind quota`, which enforces EC2's published
# request buckets at SHARE (default 0.2) of their size and refill, as an account whose
# other tools spend the rest. rollstack runs with `--request-share REQUEST_SHARE`.
#
#   NGROUPS=20 COUNT=10 POLL=1s SHARE=0.2 REQUEST_SHARE=15% scripts/bench-roll.sh
#
# Reports AWS calls per replaced instance, DescribeInstances per poll interval, throttled
# EC2 calls, and the wall time beside the least the rollout's own waits take (each batch
# waits at least one poll for its instances' readiness).
set -euo pipefail
cd "$(dirname "$0")/.."
NGROUPS="${NGROUPS:-20}"
COUNT="${COUNT:-10}"
POLL="${POLL:-1s}"
SHARE="${SHARE:-0.2}"
REQUEST_SHARE="${REQUEST_SHARE:-15%}"
SURGE="${SURGE:-5}"
PROFILE="${PROFILE:-debug}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/rollstack-target}"
mkdir -p "$CARGO_TARGET_DIR"
scripts/setup-moto.sh >/dev/null
if [[ "$PROFILE" == release ]]; then
  cargo build --locked --quiet --release --all-targets
else
  cargo build --locked --quiet --all-targets
fi
BIN="$CARGO_TARGET_DIR/$PROFILE/rollstack"
ROOT=$(pwd)
PY="$ROOT/.venv/bin/python"
free_port() { "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

WORK=$(mktemp -d)
PIDS=()
trap 'kill "${PIDS[@]}" 2>/dev/null || true; rm -rf "$WORK"' EXIT
PORT=$(free_port)
"$PY" scripts/moto_harness.py "$PORT" >/dev/null 2>&1 &
PIDS+=($!)
export AWS_ENDPOINT_URL="http://127.0.0.1:$PORT" AWS_ACCESS_KEY_ID=bench AWS_SECRET_ACCESS_KEY=bench AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1
until (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; do sleep 0.2; done

"$PY" - <<'PY'
import boto3
s3 = boto3.client("s3")
s3.create_bucket(Bucket="wide-state")
s3.create_bucket(Bucket="wide-releases")
for version in ("1.0.0", "1.1.0"):
    s3.put_object(Bucket="wide-releases", Key=f"web/{version}.tar.gz", Body=b"release")
PY
# The instance agent plays every instance: it reads the release from the user data and
# signals readiness to the state bucket, as the suite's instances do.
"$PY" scripts/instance-agent.py wide wide-state >/dev/null 2>&1 &
PIDS+=($!)
printf '#!/bin/sh\n/opt/web/start {{ apps.web.version }}\n# signal: s3://{{ signal.bucket }}/{{ signal.key_prefix }}INSTANCE_ID\n' > "$WORK/web.sh.j2"
stack() {
  printf 'rollstack: 1\nstack: wide\nregion: us-east-1\nstate_bucket: wide-state\n'
  printf 'releases: { bucket: wide-releases }\napps:\n  web: { version: "%s" }\n' "$1"
  printf 'security_groups:\n  web:\n    description: web tier\n    ingress: [{ protocol: tcp, ports: 80, cidr: 0.0.0.0/0 }]\n'
  printf 'roles:\n  web: { app: web, health: { signal: {} } }\ngroups:\n'
  for n in $(seq -w 1 "$NGROUPS"); do
    printf '  g%s:\n    roles: [web]\n    count: %s\n    image: ami-0abc1234\n    instance_type: t3.micro\n' "$n" "$COUNT"
    printf '    security_groups: [web]\n    user_data: web.sh.j2\n'
    printf '    rollout: { max_surge: %s, max_unavailable: 0, health_timeout: 10m }\n' "$SURGE"
  done
}
APPLY=(apply stack.yaml --auto-approve --parallelism "$NGROUPS" --poll-interval "$POLL" --stats)
cd "$WORK"
stack 1.0.0 > stack.yaml
"$BIN" "${APPLY[@]}" >/dev/null 2>&1

PROXY_PORT_FILE="$WORK/proxy.out"
"$PY" "$ROOT/scripts/fault_proxy.py" "$PORT" --kind quota --share "$SHARE" > "$PROXY_PORT_FILE" 2>/dev/null &
PIDS+=($!)
until grep -q '^ready ' "$PROXY_PORT_FILE" 2>/dev/null; do sleep 0.2; done
PROXY="http://127.0.0.1:$(sed -n 's/^ready //p' "$PROXY_PORT_FILE")"

stack 1.1.0 > stack.yaml
started=$(date +%s.%N)
AWS_ENDPOINT_URL="$PROXY" "$BIN" "${APPLY[@]}" --request-share "$REQUEST_SHARE" >/dev/null 2>"$WORK/stats.txt"
ended=$(date +%s.%N)
sed -n '/^AWS calls:/,$p' "$WORK/stats.txt"

poll_s=$(awk -v p="$POLL" 'BEGIN { sub(/s$/, "", p); print p }')
awk -v groups="$NGROUPS" -v count="$COUNT" -v surge="$SURGE" -v poll="$poll_s" \
    -v started="$started" -v ended="$ended" -v share="$SHARE" -v request_share="$REQUEST_SHARE" '
  /^AWS calls:/ { total = $3; next }
  $1 ~ /^ec2:/ { ec2 += $2; throttled += $5 }
  $1 == "ec2:DescribeInstances" { describes = $2 }
  END {
    wall = ended - started
    replaced = groups * count
    batches = int((count + surge - 1) / surge)
    printf "\n%d groups x %d instances, poll %ss, EC2 buckets at %s, --request-share %s\n", groups, count, poll, share, request_share
    printf "wall time:                       %.0f s (the rollout'"'"'s own waits: %d batches x %s s poll = %d s)\n", wall, batches, poll, batches * poll
    printf "AWS calls per replaced instance: %.2f (%d calls, %d instances)\n", total / replaced, total, replaced
    printf "DescribeInstances per poll:      %.2f (%d in %.0f polls of %s s)\n", describes / (wall / poll), describes, wall / poll, poll
    printf "EC2 calls throttled:             %d of %d (%.1f%%)\n", throttled, ec2, 100 * throttled / ec2
  }' "$WORK/stats.txt"
