"""An egress-pdp from before connection reports carried a count of dropped
records: it answers every POST /v1/access with 202 and {"accepted": N} (N
the connections in the report), without the "dropped" field that today's
service sends back once it has written the count into the audit trail.

A test double: no older build of egress-pdp is at hand here to run. It
speaks HTTP/2 over cleartext TCP (prior knowledge), as the decision API does.

Usage: older_pdp.py LOGFILE
Listens on 127.0.0.1 (a port of the kernel's choosing), prints the port on
a line of its own, and appends every report it receives to LOGFILE as one
JSON line. Needs the h2 package (PyPI), which the test environment installs."""
import json
import signal
import socket
import sys
import threading

import h2.config
import h2.connection
import h2.events

# Started from a test's thread, it may inherit SIGTERM blocked or ignored.
signal.pthread_sigmask(signal.SIG_UNBLOCK, [signal.SIGTERM])
signal.signal(signal.SIGTERM, signal.SIG_DFL)
log = open(sys.argv[1], "a")
lock = threading.Lock()


def answer(conn, stream_id, status, body):
    conn.send_headers(stream_id, [(":status", status), ("content-type", "application/json"),
                                  ("content-length", str(len(body)))])
    conn.send_data(stream_id, body, end_stream=True)


def serve(sock):
    conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=False, header_encoding="utf-8"))
    conn.initiate_connection()
    sock.sendall(conn.data_to_send())
    paths, bodies = {}, {}
    while True:
        data = sock.recv(65535)
        if not data:
            return
        for event in conn.receive_data(data):
            if isinstance(event, h2.events.RequestReceived):
                paths[event.stream_id] = dict(event.headers).get(":path")
                bodies[event.stream_id] = b""
            elif isinstance(event, h2.events.DataReceived):
                bodies[event.stream_id] += event.data
                conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
            elif isinstance(event, h2.events.StreamEnded):
                path, body = paths.pop(event.stream_id), bodies.pop(event.stream_id)
                if path == "/v1/access":
                    report = json.loads(body)
                    with lock:
                        log.write(json.dumps(report) + "\n")
                        log.flush()
                    answer(conn, event.stream_id, "202",
                           json.dumps({"accepted": len(report.get("connections", []))}).encode())
                else:
                    answer(conn, event.stream_id, "404", b'{"error": "not here"}')
        sock.sendall(conn.data_to_send())


listener = socket.socket()
listener.bind(("127.0.0.1", 0))
listener.listen()
print(listener.getsockname()[1], flush=True)
while True:
    client, _ = listener.accept()
    threading.Thread(target=serve, args=(client,), daemon=True).start()
