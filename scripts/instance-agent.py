"""Plays the instances' part on the local endpoint, where nothing boots: every running
instance of a stack writes its readiness signal, as the user data of a real instance
would (`s3://{state_bucket}/rollstack/{stack}/{env}/signals/{instance-id}`, body
`{"status": "ok"|"fail", "spec": "<its rollstack:spec tag>"}`).

With `--http PORT`, each running instance also answers HTTP health checks on
`{private_ip}:PORT` (200, or 500 for a failing release). That needs the instances'
subnets inside 127.0.0.0/8, where every address is this machine's loopback, and the
right to bind PORT.

It plays release jobs' instances too (`rollstack:resource` `job.NAME`): it uploads
their output and `{"status", "exit_code"}` where their user data's wrapper would. With
--run-jobs it runs the job's script (taken out of the user data) here, for its real
output and exit code; without, it reports success with a line saying nothing ran.

usage: instance-agent.py STACK STATE_BUCKET [--fail RELEASE]... [--http PORT]...
                         [--run-jobs] [--mute-jobs] [--once]
Instances whose `rollstack:release` tag is a RELEASE given with --fail signal `fail`;
a job instance of such a release reports exit code 3 without running its script. With
--mute-jobs, job instances never report (a job that hangs).
Runs until its parent exits (or once, with --once).
"""
import argparse
import base64
import http.server
import json
import os
import re
import subprocess
import threading
import time

import boto3

parser = argparse.ArgumentParser()
parser.add_argument("stack")
parser.add_argument("bucket")
parser.add_argument("--fail", action="append", default=[])
parser.add_argument("--http", action="append", default=[], type=int)
parser.add_argument("--once", action="store_true")
parser.add_argument("--mute-jobs", action="store_true")
parser.add_argument("--run-jobs", action="store_true")
args = parser.parse_args()

ec2 = boto3.client("ec2", region_name=os.environ.get("AWS_DEFAULT_REGION", "us-east-1"))
s3 = boto3.client("s3", region_name=os.environ.get("AWS_DEFAULT_REGION", "us-east-1"))
parent = os.getppid()
signalled = set()
served = set()


def run_job(instance_id, release):
    """What a job instance's wrapper does: run the script, upload output and result."""
    attribute = ec2.describe_instance_attribute(InstanceId=instance_id, Attribute="userData")
    data = base64.b64decode(attribute.get("UserData", {}).get("Value", "")).decode()
    target = re.search(r'^result="s3://([^/]+)/(.*)\$id"$', data, re.M)
    script = re.search(r"^cat > \"\$script\" <<'(\S+)'\n(.*?)^\1$", data, re.M | re.S)
    if not (target and script):
        return
    if release in args.fail:
        output, code = f"failing as told: {release}\n", 3
    elif not args.run_jobs:
        output, code = f"(the local endpoint runs no job script: {release})\n", 0
    else:
        done = subprocess.run(
            ["bash", "-c", script.group(2)], capture_output=True, text=True, timeout=60
        )
        output, code = done.stdout + done.stderr, done.returncode
    bucket, prefix = target.group(1), target.group(2) + instance_id
    s3.put_object(Bucket=bucket, Key=prefix + ".log", Body=output.encode()[-65536:])
    status = "succeeded" if code == 0 else "failed"
    body = json.dumps({"status": status, "exit_code": code})
    s3.put_object(Bucket=bucket, Key=prefix + ".json", Body=body.encode())


def serve(address, port, healthy):
    class Health(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200 if healthy else 500)
            self.end_headers()
            self.wfile.write(b"ok\n" if healthy else b"failing\n")

        def log_message(self, *_):
            pass

    server = http.server.ThreadingHTTPServer((address, port), Health)
    threading.Thread(target=server.serve_forever, daemon=True).start()


while True:
    pages = ec2.get_paginator("describe_instances").paginate(
        Filters=[
            {"Name": "tag:rollstack:stack", "Values": [args.stack]},
            {"Name": "instance-state-name", "Values": ["running"]},
        ]
    )
    for page in pages:
        for reservation in page["Reservations"]:
            for instance in reservation["Instances"]:
                instance_id = instance["InstanceId"]
                tags = {t["Key"]: t["Value"] for t in instance.get("Tags", [])}
                status = "fail" if tags.get("rollstack:release") in args.fail else "ok"
                address = instance.get("PrivateIpAddress")
                for port in args.http:
                    if address and (address, port) not in served:
                        serve(address, port, status == "ok")
                        served.add((address, port))
                if instance_id in signalled:
                    continue
                if tags.get("rollstack:resource", "").startswith("job."):
                    if not args.mute_jobs:
                        run_job(instance_id, tags.get("rollstack:release", ""))
                        signalled.add(instance_id)
                    continue
                key = f"rollstack/{args.stack}/{tags['rollstack:env']}/signals/{instance_id}"
                body = json.dumps({"status": status, "spec": tags.get("rollstack:spec", "")})
                s3.put_object(Bucket=args.bucket, Key=key, Body=body.encode())
                signalled.add(instance_id)
    if args.once or os.getppid() != parent:
        break
    time.sleep(0.2)
