#!/usr/bin/env python3
"""Records the first bytes a client sends, for the ClientHello tests.

Usage: capture.py OUTPUT PORTFILE

Listens on an ephemeral loopback port (written to PORTFILE so that the
calling script can point a client at it), accepts one connection, reads what
the client sends until it has 64 KiB, the client closes, or 2 s pass, then
writes those bytes to OUTPUT and closes without answering. The client sees a
dead server; only its first flight matters here.
"""
import os
import socket
import sys
import time

LIMIT = 64 * 1024
WINDOW = 2.0


def main() -> None:
    output, portfile = sys.argv[1], sys.argv[2]
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as server:
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(("127.0.0.1", 0))
        server.listen(8)
        # Write then rename, so the caller never reads a half-written port.
        with open(portfile + ".tmp", "w") as f:
            f.write(str(server.getsockname()[1]))
        os.rename(portfile + ".tmp", portfile)
        server.settimeout(60)
        conn, _ = server.accept()
        with conn:
            data = bytearray()
            deadline = time.monotonic() + WINDOW
            while len(data) < LIMIT:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                conn.settimeout(left)
                try:
                    chunk = conn.recv(LIMIT - len(data))
                except socket.timeout:
                    break
                if not chunk:
                    break
                data += chunk
    with open(output, "wb") as f:
        f.write(bytes(data))
    print(f"{output}: {len(data)} bytes", file=sys.stderr)


if __name__ == "__main__":
    main()
