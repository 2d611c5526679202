#!/usr/bin/env python3
"""A small TLS server for the egress-pep end-to-end test (Tests/e2e/pep-e2e).

It listens on every --listen IP:PORT given, picks its certificate by the
ClientHello's server name (SNI) from --cert NAME=CERT.pem,KEY.pem (the first
one is the default, used without SNI or for an unknown name), and answers
any HTTP request with 200 and the body `served <sni> at <local ip>`.

Every accepted TCP connection is logged to --log as one line, written and
flushed before the TLS handshake starts, so a connection counts even when
its handshake fails:

    accept local=198.18.3.66:443 peer=198.18.3.1:40112

Handshake results are logged on further lines (`tls ...`, `tls-failed ...`),
which do not start with `accept`. Once every socket is bound, the server
writes `ready` to --ready-file (if given).

Only the standard library is used. One thread per connection; the process
runs until it is killed (SIGTERM).
"""

import argparse
import os
import signal
import socket
import ssl
import sys
import threading
import time

_log_lock = threading.Lock()
_log_file = None


def log(line):
    with _log_lock:
        _log_file.write(f"{line} time={time.time():.3f}\n")
        _log_file.flush()


def parse_listen(text):
    host, sep, port = text.rpartition(":")
    if not sep or not host:
        raise argparse.ArgumentTypeError(f"expected IP:PORT, got {text!r}")
    return host.strip("[]"), int(port)


def parse_cert(text):
    name, sep, files = text.partition("=")
    cert, sep2, key = files.partition(",")
    if not sep or not sep2 or not name:
        raise argparse.ArgumentTypeError(f"expected NAME=CERT,KEY, got {text!r}")
    return name.lower(), cert, key


def make_context(cert, key):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(cert, key)
    context.set_alpn_protocols(["http/1.1"])
    return context


# The handshake runs in the connection's own thread, so the SNI callback
# hands the name to it through a thread-local.
_handshake = threading.local()


def make_sni_callback(contexts):
    def on_sni(sslobj, server_name, _context):
        _handshake.sni = server_name
        if server_name and server_name.lower() in contexts:
            sslobj.context = contexts[server_name.lower()]
        return None
    return on_sni


def serve_connection(conn, peer, default_context):
    local = conn.getsockname()
    local_text = f"{local[0]}:{local[1]}"
    peer_text = f"{peer[0]}:{peer[1]}"
    log(f"accept local={local_text} peer={peer_text}")
    _handshake.sni = None
    conn.settimeout(10)
    try:
        tls = default_context.wrap_socket(conn, server_side=True)
    except (ssl.SSLError, OSError) as error:
        log(f"tls-failed local={local_text} peer={peer_text} sni={_handshake.sni} error={error}")
        conn.close()
        return
    sni = _handshake.sni or "<none>"
    log(f"tls local={local_text} peer={peer_text} sni={sni} version={tls.version()}")
    try:
        request = b""
        while b"\r\n\r\n" not in request and len(request) < 65536:
            chunk = tls.recv(4096)
            if not chunk:
                break
            request += chunk
        if b"\r\n\r\n" in request:
            body = f"served {sni} at {local[0]}\n".encode()
            tls.sendall(b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\n"
                        + f"content-length: {len(body)}\r\n".encode()
                        + b"connection: close\r\n\r\n" + body)
            first = request.split(b"\r\n", 1)[0].decode("latin-1")
            log(f"http local={local_text} peer={peer_text} sni={sni} request={first!r}")
    except (ssl.SSLError, OSError) as error:
        log(f"io-failed local={local_text} peer={peer_text} sni={sni} error={error}")
    finally:
        try:
            tls.close()
        except OSError:
            pass


def accept_loop(server, default_context):
    while True:
        conn, peer = server.accept()
        threading.Thread(target=serve_connection, args=(conn, peer, default_context), daemon=True).start()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--listen", type=parse_listen, action="append", required=True, metavar="IP:PORT")
    parser.add_argument("--cert", type=parse_cert, action="append", required=True, metavar="NAME=CERT,KEY")
    parser.add_argument("--log", required=True, help="connection log, appended to")
    parser.add_argument("--ready-file", help="written with 'ready' once every socket listens")
    args = parser.parse_args()

    global _log_file
    _log_file = open(args.log, "a", buffering=1)
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))

    contexts = {name: make_context(cert, key) for name, cert, key in args.cert}
    _, cert, key = args.cert[0]
    default_context = make_context(cert, key)
    default_context.sni_callback = make_sni_callback(contexts)

    servers = []
    for host, port in args.listen:
        server = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind((host, port))
        server.listen(128)
        servers.append(server)
    for server in servers:
        threading.Thread(target=accept_loop, args=(server, default_context), daemon=True).start()
    if args.ready_file:
        with open(args.ready_file + ".tmp", "w") as f:
            f.write("ready\n")
        os.replace(args.ready_file + ".tmp", args.ready_file)
    print(f"tls_server: listening on {', '.join(f'{h}:{p}' for h, p in args.listen)}", file=sys.stderr, flush=True)
    threading.Event().wait()


if __name__ == "__main__":
    main()
