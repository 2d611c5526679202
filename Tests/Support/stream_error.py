"""Sends two requests on one HTTP/2 connection to egress-pdp's decision API:
stream 1 declares a content-length its body does not match (a stream-level
protocol error), stream 3 is a good request, stream 5 has no :path and
stream 7 two :method fields (malformed header blocks). Prints what happened
to each stream, the bodies, and whether the connection was ended, as one
JSON object.

Usage: stream_error.py PORT TOKEN
Needs the h2 package (PyPI), which the test environment installs."""
import json
import socket
import sys

import h2.config
import h2.connection
import h2.events

port, token = int(sys.argv[1]), sys.argv[2]
sock = socket.create_connection(("127.0.0.1", port), timeout=10)
# Outbound checks off: streams 5 and 7 are malformed on purpose.
conn = h2.connection.H2Connection(h2.config.H2Configuration(
    client_side=True, validate_outbound_headers=False, normalize_outbound_headers=False))
conn.initiate_connection()
sock.sendall(conn.data_to_send())

body = b'{"host": "a.example.com"}'


def headers(length):
    return [(":method", "POST"), (":path", "/v1/decisions"), (":scheme", "http"), (":authority", "pdp"),
            ("authorization", "Bearer " + token), ("content-type", "application/json"),
            ("content-length", str(length))]


conn.send_headers(1, headers(len(body) + 10))
conn.send_data(1, body, end_stream=True)
conn.send_headers(3, headers(len(body)))
conn.send_data(3, body, end_stream=True)
conn.send_headers(5, [h for h in headers(len(body)) if h[0] != ":path"])
conn.send_data(5, body, end_stream=True)
conn.send_headers(7, [(":method", "POST")] + headers(len(body)))
conn.send_data(7, body, end_stream=True)
sock.sendall(conn.data_to_send())

result = {"1": None, "3": None, "5": None, "7": None, "goaway": False}
bodies = {}
try:
    while any(result[stream] is None for stream in ("1", "3", "5", "7")):
        data = sock.recv(65535)
        if not data:
            break
        for event in conn.receive_data(data):
            if isinstance(event, h2.events.ResponseReceived):
                result[str(event.stream_id)] = dict(event.headers).get(b":status", b"").decode()
            elif isinstance(event, h2.events.DataReceived):
                bodies.setdefault(event.stream_id, b"")
                bodies[event.stream_id] += event.data
                conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
            elif isinstance(event, h2.events.StreamReset):
                result[str(event.stream_id)] = "reset"
            elif isinstance(event, h2.events.ConnectionTerminated):
                result["goaway"] = True
        sock.sendall(conn.data_to_send())
        if result["goaway"]:
            break
except socket.timeout:
    result["timeout"] = True
for stream in (3, 5, 7):
    result["body%d" % stream] = bodies.get(stream, b"").decode()
print(json.dumps(result))
