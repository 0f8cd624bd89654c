"""A fault-injecting HTTP proxy between rollstack and the local endpoint, for tests of
AWS weather: it forwards every request to 127.0.0.1:UPSTREAM and, at a seeded rate,
answers in place of it with one kind of fault instead.

usage: fault_proxy.py UPSTREAM_PORT --kind KIND [--rate R] [--seed N] [--match TEXT] [--times N]

KIND is one of:
  throttle  each service's own throttling answer: EC2 `RequestLimitExceeded` (503),
            S3 `SlowDown` (503), CloudFormation `Throttling` (400)
  error     each service's own internal error (500)
  reset     the connection is reset before any answer
  lost      the request is forwarded and carried out, then the answer is dropped (reset)
  silent    the connection is accepted and never answered
  capacity  EC2's `InsufficientInstanceCapacity` (500), as a zone out of an instance
            type answers `RunInstances` (use --match `SubnetId=subnet-...`)
  unsupported  S3's `NotImplemented` (501) to a `DeleteObject` with `If-Match`, as a
            store without conditional deletes answers
  quota     EC2's request buckets, each API its own, at --share of AWS's published size
            and refill (non-mutating 100 tokens and 20 a second, mutating 50 and 5,
            RunInstances 1,000 and 2): a call with no token left gets
            `RequestLimitExceeded` (503), as an account whose other tools spend the rest
  hide      eventual consistency: for --seconds after EC2 creates an instance, security
            group or launch template, a request naming its id answers NotFound, and
            `DescribeInstances` leaves new instances out

  none      no fault: a plain proxy (with --log, a witness of the calls made)

With --log FILE, every request answered with success appends one line to FILE, in the
order answered: a form-encoded one its Action and the instance ids it names
(`TerminateInstances i-1 i-2`, `DeregisterTargets i-1`; `RunInstances group.www i-3`:
the resource it tags and the ids launched), an S3 one `S3 GET /bucket/key`.

With --match, only requests whose path or body contains TEXT (`lock.json`,
`Action=CreateSecurityGroup`) are faulted; with --times, at most N faults are injected.

Like AWS, the proxy answers an EC2 request that repeats a `ClientToken` with the answer
the first one got (the local endpoint ignores client tokens). It prints `ready PORT`
once listening, and runs until the process that started it exits.
"""
import argparse
import http.client
import http.server
import os
import random
import re
import socket
import struct
import sys
import threading
import time
import urllib.parse

parser = argparse.ArgumentParser()
parser.add_argument("upstream", type=int)
parser.add_argument("--kind", required=True, choices=["none", "throttle", "error", "reset", "lost", "silent", "hide", "capacity", "unsupported", "quota"])
parser.add_argument("--seconds", type=float, default=3.0)
parser.add_argument("--rate", type=float, default=1.0)
parser.add_argument("--seed", type=int, default=1)
parser.add_argument("--match", default=None)
parser.add_argument("--times", type=int, default=None)
parser.add_argument("--log", default=None)
parser.add_argument("--share", type=float, default=0.2)
args = parser.parse_args()

rng = random.Random(args.seed)
lock = threading.Lock()
replies = {}  # (action, client token) -> (status, headers, body)
injected = {"count": 0}

THROTTLE = {
    "ec2": (503, b'<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error>'
                 b"<Code>RequestLimitExceeded</Code><Message>Request limit exceeded.</Message>"
                 b"</Error></Errors><RequestID>fault-proxy</RequestID></Response>"),
    "s3": (503, b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>SlowDown</Code>'
                b"<Message>Please reduce your request rate.</Message>"
                b"<RequestId>fault-proxy</RequestId></Error>"),
    "cloudformation": (400, b'<ErrorResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/">'
                            b"<Error><Type>Sender</Type><Code>Throttling</Code>"
                            b"<Message>Rate exceeded</Message></Error>"
                            b"<RequestId>fault-proxy</RequestId></ErrorResponse>"),
}
INTERNAL = {
    "ec2": (500, b'<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error>'
                 b"<Code>InternalError</Code><Message>An internal error has occurred.</Message>"
                 b"</Error></Errors><RequestID>fault-proxy</RequestID></Response>"),
    "s3": (500, b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>InternalError</Code>'
                b"<Message>We encountered an internal error. Please try again.</Message>"
                b"<RequestId>fault-proxy</RequestId></Error>"),
    "cloudformation": (500, b'<ErrorResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/">'
                            b"<Error><Type>Receiver</Type><Code>InternalFailure</Code>"
                            b"<Message>Internal failure.</Message></Error>"
                            b"<RequestId>fault-proxy</RequestId></ErrorResponse>"),
}
NO_CAPACITY = (500, b'<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error>'
                    b"<Code>InsufficientInstanceCapacity</Code><Message>We currently do not have "
                    b"sufficient capacity in the Availability Zone you requested. You can currently "
                    b"get capacity by choosing another Availability Zone.</Message>"
                    b"</Error></Errors><RequestID>fault-proxy</RequestID></Response>")
NOT_IMPLEMENTED = (501, b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>NotImplemented</Code>'
                        b"<Message>A header you provided implies functionality that is not implemented.</Message>"
                        b"<RequestId>fault-proxy</RequestId></Error>")
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length"}

created = {}  # id -> when EC2 answered its creation
CREATED_IDS = {
    "RunInstances": re.compile(rb"<instanceId>([a-z]+-[0-9a-f]+)</"),
    "CreateSecurityGroup": re.compile(rb"<groupId>([a-z]+-[0-9a-f]+)</"),
    "CreateLaunchTemplate": re.compile(rb"<launchTemplateId>([a-z]+-[0-9a-f]+)</"),
}
NOT_FOUND = {
    "i-": "InvalidInstanceID.NotFound",
    "sg-": "InvalidGroup.NotFound",
    "lt-": "InvalidLaunchTemplateId.NotFound",
}


buckets = {}  # EC2 action -> [tokens, last refill, capacity, rate]


def published(action):
    """AWS's published bucket of EC2 API `action`: (tokens, refilled a second)."""
    if action == "RunInstances":
        return 1000.0, 2.0
    if action.startswith(("Describe", "Get", "List")):
        return 100.0, 20.0
    return 50.0, 5.0


def has_token(action):
    """Takes a token of `action`'s bucket, if one is left."""
    now = time.monotonic()
    with lock:
        if action not in buckets:
            capacity, rate = published(action)
            buckets[action] = [capacity * args.share, now, capacity * args.share, rate * args.share]
        bucket = buckets[action]
        bucket[0] = min(bucket[2], bucket[0] + (now - bucket[1]) * bucket[3])
        bucket[1] = now
        if bucket[0] >= 1.0:
            bucket[0] -= 1.0
            return True
        injected["count"] += 1
        return False


def hidden(now):
    with lock:
        return {i for i, at in created.items() if now - at < args.seconds}


def not_found(identifier):
    code = next(c for prefix, c in NOT_FOUND.items() if identifier.startswith(prefix))
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error>'
        f"<Code>{code}</Code><Message>The ID '{identifier}' does not exist</Message>"
        "</Error></Errors><RequestID>fault-proxy</RequestID></Response>"
    ).encode()
    return 400, [("Content-Type", "text/xml")], body


def without_instances(body, ids):
    """`body` (a DescribeInstances answer) without the instance items of `ids`."""
    out, i = b"", 0
    while True:
        start = body.find(b"<instancesSet>", i)
        if start < 0:
            return out + body[i:]
        start += len(b"<instancesSet>")
        out += body[i:start]
        depth, j, item_start, kept = 0, start, None, b""
        while True:
            opening = body.find(b"<item>", j)
            closing = body.find(b"</item>", j)
            end_set = body.find(b"</instancesSet>", j)
            if depth == 0 and (end_set < opening or opening < 0) and (end_set < closing or closing < 0):
                out += kept
                i = end_set
                break
            if opening >= 0 and opening < closing:
                if depth == 0:
                    item_start = opening
                depth += 1
                j = opening + len(b"<item>")
            else:
                depth -= 1
                j = closing + len(b"</item>")
                if depth == 0:
                    item = body[item_start:j]
                    match = re.search(rb"<instanceId>([^<]+)</instanceId>", item)
                    if not (match and match.group(1).decode() in ids):
                        kept += item


def service(headers):
    """The service a request is signed for (`.../us-east-1/ec2/aws4_request`)."""
    match = re.search(r"Credential=[^/]+/[^/]+/[^/]+/([^/]+)/", headers.get("Authorization", ""))
    return match.group(1) if match else "s3"


def fault_now(path, body):
    if args.match and args.match not in path and args.match.encode() not in body:
        return False
    with lock:
        if args.times is not None and injected["count"] >= args.times:
            return False
        hit = rng.random() < args.rate
        if hit:
            injected["count"] += 1
        return hit


def record(method, path, body, answer):
    """Appends the call to the --log file: `Action id id ...` for a form-encoded call
    (`RunInstances` with the `rollstack:resource` it tags, and the ids it launched),
    `S3 METHOD /bucket/key` for an S3 one."""
    form = urllib.parse.parse_qs(body.decode("utf-8", "replace"))
    action = form.get("Action", [""])[0]
    if not action:
        line = f"S3 {method} {urllib.parse.urlsplit(path).path}"
    else:
        ids = [
            value
            for key, values in sorted(form.items())
            # EC2's `InstanceId.N`, ELBv2's targets, Auto Scaling's `InstanceId` (one
            # instance of a group) and `InstanceIds.member.N`.
            if re.fullmatch(r"InstanceId(\.\d+)?|InstanceIds\.member\.\d+|Targets\.member\.\d+\.Id", key)
            for value in values
        ]
        if action == "RunInstances":
            resource = [
                form.get(key.replace(".Key", ".Value"), [""])[0]
                for key, values in form.items()
                if key.startswith("TagSpecification.") and key.endswith(".Key")
                and values == ["rollstack:resource"]
            ]
            ids = resource[:1] + re.findall(r"<instanceId>([^<]+)</instanceId>", answer.decode("utf-8", "replace"))
        line = " ".join([action] + ids)
    with lock:
        with open(args.log, "a") as log:
            log.write(line + "\n")


class Proxy(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *_):
        pass

    def read_body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            body = b""
            while True:
                size = int(self.rfile.readline().strip().split(b";")[0], 16)
                if size == 0:
                    self.rfile.readline()
                    return body
                body += self.rfile.read(size)
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def reset(self):
        """Closes the connection with a TCP reset, answering nothing."""
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.connection.close()
        self.close_connection = True

    def answer(self, status, headers, body):
        self.send_response(status)
        for name, value in headers:
            if name.lower() not in HOP_BY_HOP:
                self.send_header(name, value)
        if self.command == "HEAD":
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def forward(self, body):
        upstream = http.client.HTTPConnection("127.0.0.1", args.upstream, timeout=60)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
        headers["Content-Length"] = str(len(body))
        upstream.request(self.command, self.path, body=body, headers=headers)
        response = upstream.getresponse()
        reply = (response.status, response.getheaders(), response.read())
        upstream.close()
        return reply

    def handle_any(self):
        body = self.read_body()
        kind = args.kind
        svc = service(self.headers)
        if kind == "silent":
            while True:
                time.sleep(60)
        token = None
        if svc == "ec2":
            form = urllib.parse.parse_qs(body.decode("utf-8", "replace"))
            if "ClientToken" in form:
                token = (form.get("Action", [""])[0], form["ClientToken"][0])
        if kind == "hide" and svc == "ec2":
            return self.hide(body)
        if kind == "quota" and svc == "ec2":
            action = urllib.parse.parse_qs(body.decode("utf-8", "replace")).get("Action", [""])[0]
            if not has_token(action):
                status, payload = THROTTLE["ec2"]
                return self.answer(status, [("Content-Type", "text/xml")], payload)
            kind = "none"
        conditional_delete = self.command == "DELETE" and "If-Match" in self.headers
        fault = (kind != "unsupported" or conditional_delete) and fault_now(self.path, body)
        if fault and kind == "unsupported":
            return self.answer(NOT_IMPLEMENTED[0], [("Content-Type", "application/xml")], NOT_IMPLEMENTED[1])
        if fault and kind == "reset":
            return self.reset()
        if fault and kind == "capacity":
            return self.answer(NO_CAPACITY[0], [("Content-Type", "text/xml")], NO_CAPACITY[1])
        if fault and kind in ("throttle", "error"):
            status, payload = (THROTTLE if kind == "throttle" else INTERNAL)[svc]
            return self.answer(status, [("Content-Type", "text/xml")], payload)
        with lock:
            cached = replies.get(token) if token else None
        reply = cached or self.forward(body)
        if token and not cached and reply[0] < 300:
            with lock:
                replies[token] = reply
        if args.log and reply[0] < 300:
            record(self.command, self.path, body, reply[2])
        if fault and kind == "lost":
            return self.reset()
        self.answer(*reply)

    def hide(self, body):
        """Eventual consistency: what EC2 made a moment ago is not there yet."""
        form = urllib.parse.parse_qs(body.decode("utf-8", "replace"))
        action = form.get("Action", [""])[0]
        now = time.monotonic()
        young = hidden(now)
        named = {v for values in form.values() for v in values if v in young}
        if named and not action.startswith("Describe"):
            with lock:
                injected["count"] += 1
            return self.answer(*not_found(sorted(named)[0]))
        status, headers, payload = self.forward(body)
        if status < 300 and action in CREATED_IDS:
            with lock:
                for identifier in CREATED_IDS[action].findall(payload):
                    created.setdefault(identifier.decode(), now)
        if status < 300 and action == "DescribeInstances" and young:
            payload = without_instances(payload, young)
        self.answer(status, headers, payload)

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = handle_any


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Proxy)
server.daemon_threads = True
threading.Thread(target=server.serve_forever, daemon=True).start()
print("ready", server.server_address[1], flush=True)
parent = os.getppid()
try:
    while os.getppid() == parent:
        time.sleep(0.5)
finally:
    print(f"fault proxy: {injected['count']} {args.kind} faults injected", file=sys.stderr)
    server.shutdown()
