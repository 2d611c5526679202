#!/usr/bin/env python3
"""A stand-in for the Kubernetes API server, for egress-pdp's tests.

No real API server can run on these machines. This one follows the
documented semantics egress-pdp relies on, from the Kubernetes API
reference (core/v1 Pod and Namespace) and "Kubernetes API Concepts"
(https://kubernetes.io/docs/reference/using-api/api-concepts/):

- HTTPS only, with a certificate from the test CA; a request needs a bearer
  token listed in --token-file (read again on every request, so a test can
  rotate tokens) or a client certificate the test CA signed; otherwise 401.
- Lists (GET /api/v1/pods, /api/v1/namespaces/NS/pods, /api/v1/namespaces)
  are paginated with `limit` and `continue`; every page of one list is a
  snapshot of the same resourceVersion; an expired `continue` gives 410.
- Watches (`?watch=1&resourceVersion=RV`) stream one JSON event per line in
  a chunked response: ADDED, MODIFIED, DELETED, BOOKMARK (with
  `allowWatchBookmarks=true`, every --bookmark-every seconds), and ERROR
  with a 410 Status when RV is older than the oldest change kept (after
  `POST /_test/compact`). A watch ends after `timeoutSeconds`.

Tests drive it through /_test/ (not part of the Kubernetes API): put and
delete pods and namespaces (each change gets the next resourceVersion),
compact the change log, cut the next watch event in the middle of its line
and drop the connection, send a hostile line (not JSON, or 5 MiB long) on
the next watch, relabel pods at a given rate (`churn`, for
bench/k8s-sync), and read counts of requests.

Prints its port on the first line of stdout once it listens.
"""
import argparse
import bisect
import json
import random
import ssl
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse


class State:
    def __init__(self):
        self.lock = threading.Condition()
        self.rv = 100
        self.objects = {"pods": {}, "namespaces": {}}
        self.log = []  # (rv, resource, type, object), in resourceVersion order
        self.log_rvs = []  # the log's resourceVersions, for bisect
        self.oldest = 100  # a watch from before this is 410 Gone
        self.snapshots = {}  # continue token -> (rv, remaining items)
        self.cut_next = False
        self.junk_next = {}  # resource -> bytes sent as its next watch line instead of an event
        self.counts = {"list": 0, "watch": 0, "unauthorized": 0}

    def change(self, resource, kind, obj):
        with self.lock:
            self.rv += 1
            obj = json.loads(json.dumps(obj))
            obj.setdefault("metadata", {})["resourceVersion"] = str(self.rv)
            key = self.key(resource, obj)
            if kind == "DELETED":
                self.objects[resource].pop(key, None)
            else:
                kind = "MODIFIED" if key in self.objects[resource] else "ADDED"
                self.objects[resource][key] = obj
            self.log.append((self.rv, resource, kind, obj))
            self.log_rvs.append(self.rv)
            self.lock.notify_all()
            return self.rv

    def since(self, rv):
        """The log's entries after `rv` (called with the lock held)."""
        return self.log[bisect.bisect_right(self.log_rvs, rv):]

    def preload(self, pods, namespaces):
        """`pods` running pods spread over `namespaces` namespaces, at once."""
        for n in range(namespaces):
            self.change("namespaces", "PUT", {"metadata": {"name": "ns-%d" % n, "labels": {"team": "t%d" % (n % 10)}}})
        for i in range(pods):
            self.change("pods", "PUT", pod(i, namespaces, "web"))

    def churn(self, rate, seconds):
        """MODIFIED events at `rate` per second for `seconds`: pods relabelled."""
        count = len(self.objects["pods"])
        start = time.monotonic()
        n = 0
        while time.monotonic() - start < seconds:
            target = int((time.monotonic() - start) * rate)
            while n < target:
                i = random.randrange(count)
                self.change("pods", "PUT", pod(i, max(1, len(self.objects["namespaces"])), "web" if n % 2 else "batch"))
                n += 1
            time.sleep(0.002)
        return n


    @staticmethod
    def key(resource, obj):
        meta = obj["metadata"]
        return meta["name"] if resource == "namespaces" else meta.get("namespace", "") + "/" + meta["name"]


def pod(i, namespaces, app):
    return {"metadata": {"name": "pod-%d" % i, "namespace": "ns-%d" % (i % namespaces), "labels": {"app": app}},
            "spec": {"serviceAccountName": "sa-%d" % (i % 7)},
            "status": {"phase": "Running", "podIPs": [{"ip": "198.%d.%d.%d" % (18 + (i >> 16 & 1), i >> 8 & 255, i & 255)}]}}


STATE = State()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    args = None

    def log_message(self, *a):
        pass

    def authorized(self):
        try:
            peer = self.connection.getpeercert()
        except Exception:
            peer = None
        if peer:
            return True
        header = self.headers.get("Authorization", "")
        try:
            with open(self.args.token_file) as f:
                tokens = {line.strip() for line in f if line.strip()}
        except OSError:
            tokens = set()
        return header.startswith("Bearer ") and header[7:] in tokens

    def send_json(self, code, body):
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def status(self, code, reason, message):
        self.send_json(code, {"kind": "Status", "apiVersion": "v1", "status": "Failure",
                              "message": message, "reason": reason, "code": code})

    def read_body(self):
        length = int(self.headers.get("Content-Length", "0"))
        return json.loads(self.rfile.read(length) or b"null")

    def do_POST(self):
        url = urlparse(self.path)
        parts = url.path.strip("/").split("/")
        if parts[:1] != ["_test"]:
            return self.status(405, "MethodNotAllowed", "read-only stand-in")
        if parts[1] in ("pods", "namespaces"):
            rv = STATE.change(parts[1], "PUT", self.read_body())
            return self.send_json(200, {"resourceVersion": str(rv)})
        if parts[1] == "compact":
            with STATE.lock:
                STATE.oldest = STATE.rv + 1
                STATE.log.clear()
                STATE.log_rvs.clear()
                STATE.snapshots.clear()
            return self.send_json(200, {})
        if parts[1] == "churn":
            body = self.read_body()
            made = STATE.churn(float(body["rate"]), float(body["seconds"]))
            return self.send_json(200, {"events": made})
        if parts[1] == "junk":
            # A hostile line on the next watch: not JSON, or longer than any event.
            body = self.read_body()
            with STATE.lock:
                STATE.junk_next[body.get("resource", "pods")] = (
                    b"{not json at all\n" if body["kind"] == "garbage" else b"x" * (5 << 20) + b"\n")
                STATE.lock.notify_all()
            return self.send_json(200, {})
        if parts[1] == "cut":
            with STATE.lock:
                STATE.cut_next = True
            return self.send_json(200, {})
        self.status(404, "NotFound", url.path)

    def do_DELETE(self):
        parts = urlparse(self.path).path.strip("/").split("/")
        if parts[:1] == ["_test"] and parts[1] == "pods" and len(parts) == 4:
            obj = STATE.objects["pods"].get(parts[2] + "/" + parts[3])
        elif parts[:1] == ["_test"] and parts[1] == "namespaces" and len(parts) == 3:
            obj = STATE.objects["namespaces"].get(parts[2])
        else:
            return self.status(404, "NotFound", self.path)
        if obj is None:
            return self.status(404, "NotFound", self.path)
        rv = STATE.change(parts[1], "DELETED", obj)
        self.send_json(200, {"resourceVersion": str(rv)})

    def do_GET(self):
        url = urlparse(self.path)
        query = {k: v[-1] for k, v in parse_qs(url.query).items()}
        if url.path == "/_test/counts":
            return self.send_json(200, STATE.counts)
        if not self.authorized():
            STATE.counts["unauthorized"] += 1
            return self.status(401, "Unauthorized", "Unauthorized")
        parts = url.path.strip("/").split("/")
        if parts == ["api", "v1", "pods"]:
            resource, namespace = "pods", None
        elif len(parts) == 5 and parts[:3] == ["api", "v1", "namespaces"] and parts[4] == "pods":
            resource, namespace = "pods", parts[3]
        elif parts == ["api", "v1", "namespaces"]:
            resource, namespace = "namespaces", None
        else:
            return self.status(404, "NotFound", url.path)
        if query.get("watch") in ("1", "true"):
            return self.watch(resource, namespace, query)
        self.list(resource, namespace, query)

    def matches(self, resource, namespace, obj):
        return namespace is None or obj["metadata"].get("namespace") == namespace

    def list(self, resource, namespace, query):
        STATE.counts["list"] += 1
        limit = int(query.get("limit", "0") or 0)
        with STATE.lock:
            token = query.get("continue")
            if token:
                if token not in STATE.snapshots:
                    return self.status(410, "Expired", "The provided continue parameter is too old")
                rv, items = STATE.snapshots.pop(token)
            else:
                rv = STATE.rv
                items = [o for k, o in sorted(STATE.objects[resource].items()) if self.matches(resource, namespace, o)]
            page, rest = (items[:limit], items[limit:]) if limit else (items, [])
            meta = {"resourceVersion": str(rv)}
            if rest:
                next_token = "c%d-%d" % (rv, len(STATE.snapshots) + time.monotonic_ns())
                STATE.snapshots[next_token] = (rv, rest)
                meta["continue"] = next_token
        kind = "PodList" if resource == "pods" else "NamespaceList"
        self.send_json(200, {"kind": kind, "apiVersion": "v1", "metadata": meta, "items": page})

    def chunk(self, data):
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def watch(self, resource, namespace, query):
        STATE.counts["watch"] += 1
        since = int(query.get("resourceVersion", "0") or 0)
        deadline = time.monotonic() + int(query.get("timeoutSeconds", "1800"))
        bookmarks = query.get("allowWatchBookmarks") == "true"
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        try:
            if since < STATE.oldest - 1:
                event = {"type": "ERROR", "object": {"kind": "Status", "apiVersion": "v1", "status": "Failure",
                                                     "message": "too old resource version", "reason": "Expired",
                                                     "code": 410}}
                self.chunk(json.dumps(event).encode() + b"\n")
                return self.chunk(b"")
            last_bookmark = time.monotonic()
            while time.monotonic() < deadline:
                with STATE.lock:
                    def waiting():
                        return [e for e in STATE.since(since) if e[1] == resource
                                and self.matches(resource, namespace, e[3])]
                    pending = waiting()
                    if not pending:
                        STATE.lock.wait(timeout=0.1)
                        pending = waiting()
                    # The version every event up to which is in `pending`:
                    # a bookmark never claims one it has not sent.
                    current = STATE.rv
                    junk = STATE.junk_next.pop(resource, None)
                    cut, STATE.cut_next = (STATE.cut_next and bool(pending)), (STATE.cut_next and not pending)
                if junk is not None:
                    self.chunk(junk)
                for rv, _, kind, obj in pending:
                    line = json.dumps({"type": kind, "object": obj}).encode() + b"\n"
                    if cut:
                        # Half an event, then the connection goes away.
                        self.wfile.write(b"%x\r\n%s" % (len(line), line[: len(line) // 2]))
                        self.wfile.flush()
                        self.close_connection = True
                        return
                    self.chunk(line)
                    since = rv
                if bookmarks and time.monotonic() - last_bookmark >= self.args.bookmark_every:
                    last_bookmark = time.monotonic()
                    since = max(since, current)
                    kind = "Pod" if resource == "pods" else "Namespace"
                    event = {"type": "BOOKMARK", "object": {"kind": kind, "apiVersion": "v1",
                                                            "metadata": {"resourceVersion": str(current)}}}
                    self.chunk(json.dumps(event).encode() + b"\n")
            self.chunk(b"")
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
            self.close_connection = True


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--cert", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--client-ca", required=True)
    parser.add_argument("--token-file", required=True)
    parser.add_argument("--bookmark-every", type=float, default=1.0)
    parser.add_argument("--preload-pods", type=int, default=0, help="start with this many running pods (benchmarks)")
    parser.add_argument("--preload-namespaces", type=int, default=1)
    args = parser.parse_args()
    Handler.args = args
    if args.preload_pods:
        STATE.preload(args.preload_pods, args.preload_namespaces)
        STATE.log.clear()
        STATE.log_rvs.clear()
        STATE.oldest = STATE.rv + 1
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(args.cert, args.key)
    context.load_verify_locations(args.client_ca)
    context.verify_mode = ssl.CERT_OPTIONAL
    server.socket = context.wrap_socket(server.socket, server_side=True)
    print(server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
