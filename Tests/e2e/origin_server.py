#!/usr/bin/env python3
"""An HTTPS origin for the TLS-origination end-to-end test (Tests/e2e/http-e2e).

Listens on --listen IP:PORT with TLS; picks its certificate by the SNI from
--cert NAME=CERT.pem,KEY.pem (the first is the default). HTTP/1.1 with
keep-alive (http.server), answering:

  GET  /big?bytes=N   N bytes of 'x', streamed in 1 MiB writes
  GET  /close         'closing', then the origin closes the connection
  GET  /ws            a WebSocket upgrade (RFC 6455): each text frame the
                      client sends comes back as 'echo: TEXT' 
  POST, PUT           reads the body (Content-Length or chunked) and answers
                      'got N bytes'
  anything else       'served HOST PATH' (HOST: the Host header)

Every request that arrives is logged to --log as one line, written and
flushed before it is answered, so that a test can count what reached the
origin:

    request sni=good.http-e2e.test host=good.http-e2e.test method=GET path=/a

Writes `ready` to --ready-file once it listens. Standard library only.
"""
import argparse
import base64
import hashlib
import struct
import http.server
import socketserver
import ssl
import sys
import threading
import urllib.parse

LOCK = threading.Lock()


def log(path, line):
    with LOCK, open(path, "a") as f:
        f.write(line + "\n")
        f.flush()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def record(self):
        sni = getattr(self.connection, "sni", None)
        log(self.server.log_path, "request sni=%s host=%s method=%s path=%s" % (sni, self.headers.get("Host"), self.command, self.path))

    def reply(self, body, status=200):
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def read_body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            total = 0
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return total
                remaining = size
                while remaining:
                    chunk = self.rfile.read(min(remaining, 1 << 20))
                    remaining -= len(chunk)
                    total += len(chunk)
                self.rfile.readline()
        length = int(self.headers.get("Content-Length", "0"))
        remaining = length
        while remaining:
            remaining -= len(self.rfile.read(min(remaining, 1 << 20)))
        return length

    def websocket(self):
        key = self.headers.get("Sec-WebSocket-Key", "")
        accept = base64.b64encode(hashlib.sha1((key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()).digest()).decode()
        self.send_response(101)
        self.send_header("Upgrade", "websocket")
        self.send_header("Connection", "Upgrade")
        self.send_header("Sec-WebSocket-Accept", accept)
        self.end_headers()
        self.wfile.flush()
        while True:
            head = self.rfile.read(2)
            if len(head) < 2:
                return
            opcode, length = head[0] & 0x0F, head[1] & 0x7F
            if length == 126:
                length = struct.unpack("!H", self.rfile.read(2))[0]
            elif length == 127:
                length = struct.unpack("!Q", self.rfile.read(8))[0]
            mask = self.rfile.read(4) if head[1] & 0x80 else b"\0\0\0\0"
            payload = bytes(b ^ mask[i % 4] for i, b in enumerate(self.rfile.read(length)))
            if opcode == 8:
                return
            reply = b"echo: " + payload
            self.wfile.write(bytes([0x81, len(reply)]) + reply)
            self.wfile.flush()

    def do_GET(self):
        self.record()
        url = urllib.parse.urlsplit(self.path)
        if url.path == "/ws" and self.headers.get("Upgrade", "").lower() == "websocket":
            self.close_connection = True
            return self.websocket()
        if url.path == "/close":
            # The origin ends the connection after this answer.
            self.close_connection = True
            data = b"closing"
            self.send_response(200)
            self.send_header("Connection", "close")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            return
        if url.path == "/big":
            size = int(urllib.parse.parse_qs(url.query).get("bytes", ["0"])[0])
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(size))
            self.end_headers()
            block = b"x" * (1 << 20)
            while size:
                n = min(size, len(block))
                self.wfile.write(block[:n])
                size -= n
            return
        self.reply("served %s %s" % (self.headers.get("Host"), self.path))

    def do_POST(self):
        self.record()
        self.reply("got %d bytes" % self.read_body())

    do_PUT = do_POST


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--listen", required=True, metavar="IP:PORT")
    parser.add_argument("--cert", action="append", required=True, metavar="NAME=CERT,KEY")
    parser.add_argument("--log", required=True)
    parser.add_argument("--ready-file")
    args = parser.parse_args()
    contexts = {}
    default = None
    for item in args.cert:
        name, files = item.split("=", 1)
        cert, key = files.split(",", 1)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        contexts[name] = context
        default = default or context

    def pick(sock, name, _context):
        sock.sni = name
        if name in contexts:
            sock.context = contexts[name]

    default.sni_callback = pick
    host, port = args.listen.rsplit(":", 1)
    server = Server((host, int(port)), Handler)
    server.log_path = args.log
    server.socket = default.wrap_socket(server.socket, server_side=True, do_handshake_on_connect=False)
    if args.ready_file:
        with open(args.ready_file, "w") as f:
            f.write("ready\n")
    server.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
