#!/usr/bin/env bash
# Benchmark (not a test): `rollstack plan` of 1,000 owned instances in 20 groups against
# the bare filtered DescribeInstances listing of the same instances, on one local
# endpoint. Prints both (median of RUNS) and the ratio plan / listing.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS="${RUNS:-5}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/rollstack-target}"
mkdir -p "$CARGO_TARGET_DIR"
scripts/setup-moto.sh >/dev/null
cargo build --locked --quiet --bin rollstack --example bare_listing
BIN="$CARGO_TARGET_DIR/debug"

PORT=$(.venv/bin/python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
.venv/bin/python scripts/moto_harness.py "$PORT" >/dev/null 2>&1 &
MOTO=$!
trap 'kill $MOTO 2>/dev/null || true; rm -rf "$WORK"' EXIT
WORK=$(mktemp -d)
export AWS_ENDPOINT_URL="http://127.0.0.1:$PORT" AWS_ACCESS_KEY_ID=bench AWS_SECRET_ACCESS_KEY=bench AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1
until (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; do sleep 0.2; done

{
  printf 'rollstack: 1\nstack: bench\nregion: us-east-1\nreleases: { bucket: bench-releases }\n'
  printf 'apps:\n  web: { version: "1.0.0" }\nroles:\n  web: { app: web }\ngroups:\n'
  for i in $(seq -w 1 20); do
    printf '  g%s: { roles: [web], count: 50, image: ami-0abc1234, instance_type: t3.micro }\n' "$i"
  done
} > "$WORK/bench.yaml"

# Seed: the plan of the empty account says what every group's instances look like.
.venv/bin/python - "$WORK/bench.yaml" <<'PY'
import boto3
boto3.client("s3").create_bucket(Bucket="bench-releases")
boto3.client("s3").put_object(Bucket="bench-releases", Key="web/1.0.0.tar.gz", Body=b"x")
PY
"$BIN/rollstack" plan "$WORK/bench.yaml" --format json > "$WORK/empty.json"
.venv/bin/python - "$WORK/empty.json" <<'PY'
import json, sys, boto3
ec2 = boto3.client("ec2")
plan = json.load(open(sys.argv[1]))
for change in plan["changes"]:
    d = change["detail"]
    spec = d["launch_spec"]
    tags = {"rollstack:stack": "bench", "rollstack:env": "default",
            "rollstack:resource": change["address"], "rollstack:spec": d["spec"]["after"],
            "rollstack:roles": " ".join(spec["roles"]), "rollstack:release": " ".join(spec["releases"]),
            "Name": d["name"]}
    ec2.run_instances(ImageId=spec["image_id"], InstanceType=spec["instance_type"],
                      MinCount=d["launch"], MaxCount=d["launch"],
                      TagSpecifications=[{"ResourceType": "instance",
                                          "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}])
PY

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
time_of() { local s e; s=$(date +%s.%N); "$@" >/dev/null; e=$(date +%s.%N); awk -v s="$s" -v e="$e" 'BEGIN { print e - s }'; }

listed=$("$BIN/examples/bare_listing" bench default)
echo "seeded: $listed owned instances in 20 groups"
"$BIN/rollstack" plan "$WORK/bench.yaml" --stats >/dev/null 2>"$WORK/stats.txt" || true
cat "$WORK/stats.txt"
bare=$(for _ in $(seq "$RUNS"); do time_of "$BIN/examples/bare_listing" bench default; done | median)
plan=$(for _ in $(seq "$RUNS"); do time_of "$BIN/rollstack" plan "$WORK/bench.yaml"; done | median)
printf 'bare DescribeInstances listing: %.2f s (median of %s)\n' "$bare" "$RUNS"
printf 'rollstack plan:                 %.2f s (median of %s)\n' "$plan" "$RUNS"
printf 'ratio plan / listing:           %.2f\n' "$(awk -v p="$plan" -v b="$bare" 'BEGIN { print p / b }')"
