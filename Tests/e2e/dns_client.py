#!/usr/bin/env python3
"""A DNS client for dns-e2e, standard library only.

tunnel: sends N queries (type TXT, A or AAAA in turn) for random names under
a domain, one at a time over UDP, and prints a JSON summary: how many got
each response code, and how many carried an Extended DNS Error (RFC 8914)
of INFO-CODE 15 (Blocked).

malformed: sends datagrams that are not DNS queries (short, truncated,
a compression loop, a response) and prints what came back for each.
"""
import argparse
import json
import random
import socket
import string
import struct


def encode_name(name):
    out = b""
    for label in name.rstrip(".").split("."):
        out += bytes([len(label)]) + label.encode()
    return out + b"\x00"


def query(qid, name, qtype, edns=True):
    header = struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 1 if edns else 0)
    body = encode_name(name) + struct.pack("!HH", qtype, 1)
    if edns:
        body += b"\x00" + struct.pack("!HHIH", 41, 1232, 0, 0)
    return header + body


def skip_name(data, offset):
    while True:
        length = data[offset]
        if length == 0:
            return offset + 1
        if length & 0xC0 == 0xC0:
            return offset + 2
        offset += 1 + length


def extended_errors(data):
    """INFO-CODEs of the EDE options in the answer's OPT record."""
    qd, an, ns, ar = struct.unpack("!HHHH", data[4:12])
    offset = 12
    for _ in range(qd):
        offset = skip_name(data, offset) + 4
    codes = []
    for index in range(an + ns + ar):
        offset = skip_name(data, offset)
        rtype, _, _, rdlength = struct.unpack("!HHIH", data[offset:offset + 10])
        offset += 10
        if rtype == 41 and index >= an + ns:
            o = offset
            while o + 4 <= offset + rdlength:
                code, length = struct.unpack("!HH", data[o:o + 4])
                if code == 15:
                    codes.append(struct.unpack("!H", data[o + 4:o + 6])[0])
                o += 4 + length
        offset += rdlength
    return codes


def tunnel(args):
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.settimeout(2)
    rcodes, blocked, lost = {}, 0, 0
    alphabet = string.ascii_lowercase + string.digits
    types = [16, 1, 28]
    for i in range(args.count):
        label = "".join(random.choice(alphabet) for _ in range(40))
        qid = random.randrange(65536)
        sock.sendto(query(qid, f"{label}.{i}.{args.domain}", types[i % 3]), (args.server, args.port))
        try:
            while True:
                data, _ = sock.recvfrom(65535)
                if struct.unpack("!H", data[:2])[0] == qid:
                    break
        except socket.timeout:
            lost += 1
            continue
        rcode = data[3] & 0x0F
        rcodes[rcode] = rcodes.get(rcode, 0) + 1
        if 15 in extended_errors(data):
            blocked += 1
    print(json.dumps({"sent": args.count, "rcodes": {str(k): v for k, v in rcodes.items()}, "blocked": blocked, "lost": lost}))


def malformed(args):
    cases = {
        "short": b"\x12",
        "header-only-with-counts": struct.pack("!HHHHHH", 0x4242, 0x0100, 1, 0, 0, 0),
        "pointer-loop": struct.pack("!HHHHHH", 0x4343, 0x0100, 1, 0, 0, 0) + b"\xc0\x0c" + struct.pack("!HH", 1, 1),
        "pointer-into-header": struct.pack("!HHHHHH", 0x4646, 0x0100, 1, 0, 0, 0) + b"\x03www\x04shop\xc0\x00" + struct.pack("!HH", 1, 1),
        "a-response": struct.pack("!HHHHHH", 0x4444, 0x8180, 1, 0, 0, 0) + encode_name("x.test") + struct.pack("!HH", 1, 1),
        "two-questions": struct.pack("!HHHHHH", 0x4545, 0x0100, 2, 0, 0, 0) + (encode_name("x.test") + struct.pack("!HH", 1, 1)) * 2,
    }
    results = {}
    for name, payload in cases.items():
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.settimeout(1)
        sock.sendto(payload, (args.server, args.port))
        try:
            data, _ = sock.recvfrom(65535)
            results[name] = {"rcode": data[3] & 0x0F, "id": struct.unpack("!H", data[:2])[0]}
        except socket.timeout:
            results[name] = None
    print(json.dumps(results))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["tunnel", "malformed"])
    parser.add_argument("--server", required=True)
    parser.add_argument("--port", type=int, default=53)
    parser.add_argument("--domain", default="tunnel.test")
    parser.add_argument("--count", type=int, default=3000)
    args = parser.parse_args()
    tunnel(args) if args.mode == "tunnel" else malformed(args)


if __name__ == "__main__":
    main()
