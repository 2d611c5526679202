#!/usr/bin/env bash
# Regenerates every capture in this directory: the first bytes each client
# sends to a loopback server (capture.py) that records them and closes
# without answering. Run from anywhere; needs python3, curl, openssl and
# Debian's chromium. The tests pin each capture's expected result, so after
# regenerating, check `swift test --filter ClientHelloTests` still agrees
# (a new client version may change sizes, but not the SNI).
#
#   curl.bin            curl -sk --resolve www.example.com:PORT:127.0.0.1 https://www.example.com:PORT/
#   openssl.bin         openssl s_client -connect 127.0.0.1:PORT -servername api.example.org
#   openssl-nosni.bin   openssl s_client -connect 127.0.0.1:PORT -noservername
#   chromium.bin        chromium --headless=new --no-sandbox --disable-gpu ...
#                       --host-resolver-rules="MAP chromium.example.net 127.0.0.1:PORT, MAP * ~NOTFOUND"
#                       https://chromium.example.net/ ("MAP *" alone also sent Chromium's
#                       network-time query, plain HTTP to clients2.google.com, to the
#                       server first; so only the page's host is mapped, background
#                       networking is off, and the browser is killed after the capture)
#   http.bin            curl http://www.example.com:PORT/ (plain HTTP: expect notTLS)
set -euo pipefail
cd "$(dirname "$0")"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# capture NAME COMMAND...: starts capture.py, substitutes the port for the
# word PORT in COMMAND, runs the client in the background and waits for the
# server to finish; the client is then killed (by process id) if still running.
capture() {
    local name=$1
    shift
    rm -f "$work/port"
    python3 capture.py "$name.bin" "$work/port" &
    local server=$!
    while [ ! -s "$work/port" ]; do sleep 0.05; done
    local port
    port=$(cat "$work/port")
    local args=("${@//PORT/$port}")
    "${args[@]}" </dev/null >/dev/null 2>&1 &
    local client=$!
    wait "$server"
    kill "$client" 2>/dev/null || true
    wait "$client" 2>/dev/null || true
}

capture curl curl -sk --max-time 5 --resolve www.example.com:PORT:127.0.0.1 https://www.example.com:PORT/
capture openssl openssl s_client -connect 127.0.0.1:PORT -servername api.example.org
capture openssl-nosni openssl s_client -connect 127.0.0.1:PORT -noservername
capture chromium setsid chromium --headless=new --no-sandbox --disable-gpu \
    --user-data-dir="$work/chromium" --no-first-run --disable-background-networking \
    --disable-component-update --disable-sync --disable-default-apps \
    --disable-features=NetworkTimeServiceQuerying \
    --host-resolver-rules="MAP chromium.example.net 127.0.0.1:PORT, MAP * ~NOTFOUND" \
    https://chromium.example.net/
capture http curl -s --max-time 5 --resolve www.example.com:PORT:127.0.0.1 http://www.example.com:PORT/
ls -l ./*.bin
