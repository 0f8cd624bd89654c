#!/usr/bin/env bash
# Benchmark (not a test): `rollstack plan` of SIZE (default 1,000) owned instances in 20
# groups against the bare filtered DescribeInstances listing of the same instances, on
# one local endpoint: wall time (median of RUNS) and the ratio plan / listing, and the
# peak RSS and CPU time of one plan beside those of a bare boto3 listing.
#
#   SIZE=10000 PROFILE=release RUNS=0 scripts/bench-plan.sh
#
# RUNS=0 measures memory and CPU only (a listing of 10,000 instances takes the local
# endpoint minutes).
#
# The local endpoint is slow to list thousands of instances (~30 s for 10,000, even with
# `scripts/moto_fixes.py`'s tag lookup): from 2,000 instances on the plan runs with
# `--attempt-timeout 600s --call-timeout 1200s`, and the speed figure is the ratio to
# the bare listing, not an absolute.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS="${RUNS:-5}"
SIZE="${SIZE:-1000}"
PROFILE="${PROFILE:-debug}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/rollstack-target}"
mkdir -p "$CARGO_TARGET_DIR"
scripts/setup-moto.sh >/dev/null
if [[ "$PROFILE" == release ]]; then
  cargo build --locked --quiet --release --all-targets
else
  cargo build --locked --quiet --all-targets
fi
BIN="$CARGO_TARGET_DIR/$PROFILE"
PER_GROUP=$(( SIZE / 20 ))
TIMEOUTS=()
if (( SIZE >= 2000 )); then TIMEOUTS=(--attempt-timeout 600s --call-timeout 1200s); fi

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
    printf '  g%s: { roles: [web], count: %s, image: ami-0abc1234, instance_type: t3.micro }\n' "$i" "$PER_GROUP"
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
    left = d["launch"]
    # Reservations of at most 50, as rollouts launch them: the local endpoint pages
    # DescribeInstances by reservation.
    while left > 0:
        n = min(50, left)
        ec2.run_instances(ImageId=spec["image_id"], InstanceType=spec["instance_type"],
                          MinCount=n, MaxCount=n,
                          TagSpecifications=[{"ResourceType": "instance",
                                              "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}])
        left -= n
PY

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
time_of() { local s e; s=$(date +%s.%N); "$@" >/dev/null; e=$(date +%s.%N); awk -v s="$s" -v e="$e" 'BEGIN { print e - s }'; }

echo "seeded: $SIZE owned instances in 20 groups ($PROFILE build)"
/usr/bin/time -f '%M %U %S' -o "$WORK/plan.rss" \
  "$BIN/rollstack" plan "$WORK/bench.yaml" "${TIMEOUTS[@]}" --stats >/dev/null 2>"$WORK/stats.txt" || true
cat "$WORK/stats.txt"
/usr/bin/time -f '%M %U %S' -o "$WORK/boto3.rss" .venv/bin/python - <<'PY'
import boto3
pages = boto3.client("ec2").get_paginator("describe_instances").paginate(
    Filters=[{"Name": "tag:rollstack:stack", "Values": ["bench"]},
             {"Name": "tag:rollstack:env", "Values": ["default"]}],
    PaginationConfig={"PageSize": 1000})
print("boto3 listed:", sum(len(r["Instances"]) for p in pages for r in p["Reservations"]))
PY
read -r plan_kb plan_user plan_sys < "$WORK/plan.rss"
read -r boto_kb boto_user boto_sys < "$WORK/boto3.rss"
printf 'peak RSS: rollstack plan %.1f MiB (CPU %.2f s); boto3 listing %.1f MiB (CPU %.2f s)\n' \
  "$(awk -v k="$plan_kb" 'BEGIN { print k / 1024 }')" "$(awk -v u="$plan_user" -v s="$plan_sys" 'BEGIN { print u + s }')" \
  "$(awk -v k="$boto_kb" 'BEGIN { print k / 1024 }')" "$(awk -v u="$boto_user" -v s="$boto_sys" 'BEGIN { print u + s }')"
if (( RUNS == 0 )); then exit 0; fi
bare=$(for _ in $(seq "$RUNS"); do time_of "$BIN/examples/bare_listing" bench default; done | median)
plan=$(for _ in $(seq "$RUNS"); do time_of "$BIN/rollstack" plan "$WORK/bench.yaml" "${TIMEOUTS[@]}"; done | median)
printf 'bare DescribeInstances listing: %.2f s (median of %s)\n' "$bare" "$RUNS"
printf 'rollstack plan:                 %.2f s (median of %s)\n' "$plan" "$RUNS"
printf 'ratio plan / listing:           %.2f\n' "$(awk -v p="$plan" -v b="$bare" 'BEGIN { print p / b }')"
