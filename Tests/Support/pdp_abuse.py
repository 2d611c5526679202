"""Attacks a running egress-pdp's decision API over real sockets, the ways a
stolen token or a hostile neighbour could, and prints what it observed as
one JSON object. The service is watched from outside only: a legitimate
decision request on a new connection (200: it works; 503: the request-body
budget is spent) and the admin API's /metrics.

Usage: pdp_abuse.py SCENARIO DECISION_PORT ADMIN_PORT TOKEN [options]

Scenarios (each self-contained):
  budget-close   bodies left unfinished on N connections, then the sockets
                 closed abruptly (RST)
  budget-reset   the same, then every stream reset (RST_STREAM CANCEL) on
                 connections that stay open
  budget-goaway  the same, then GOAWAY and a close
  budget-idle    the same, then silence: the request timeout should answer
                 408 and reset each stream
  silent         many connections from one address that never send a byte,
                 and a legitimate client from another address meanwhile
  idle           one decision, then silence: the idle timeout should send
                 GOAWAY and close
  rapid-reset    HEADERS + RST_STREAM pairs from one address over fresh
                 connections, until the service refuses that address
  zero-window    SETTINGS_INITIAL_WINDOW_SIZE=0, never a WINDOW_UPDATE, and
                 many decision requests: answers pile up in the service

Every budget scenario sends --connections x --streams bodies of
--bytes-per-stream bytes (default 8 x 1 x 128 KiB = 1 MiB, a service started
with --body-budget 1048576 exactly; 8 x 1 x 8 MiB fills the fixed 64 MiB of
builds without the option). The budget is then full, so a legitimate
decision during the attack is answered 503 ("decision_status_during"); what
matters is that it is answered 200 after ("decision_status_after") and that
nothing is held ("body_bytes_held", null when the service has no such
metric).

Needs the h2 package (PyPI), which the test environment installs."""
import argparse
import json
import os
import re
import selectors
import socket
import struct
import sys
import time
import traceback
import urllib.request

import h2.config
import h2.connection
import h2.errors
import h2.events
import h2.exceptions
import h2.settings

DECISION = b'{"host":"api.stripe.com","source":{"ip":"198.18.0.10"}}'


def error_name(code):
    try:
        return h2.errors.ErrorCodes(code).name
    except ValueError:
        return str(code)


class Client:
    """One HTTP/2 connection driven by hand, frame by frame."""

    zero_window = False  # True: never give the service credit for what it sends

    def __init__(self, port, token, source="127.0.0.1", timeout=5.0, settings=None):
        self.token = token
        self.opened = time.monotonic()
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        try:
            self.sock.bind((source, 0))
            self.sock.connect(("127.0.0.1", port))
        except OSError:
            self.sock.close()
            raise
        self.conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
        self.conn.initiate_connection()
        if settings:
            self.conn.update_settings(settings)
        self.received = 0           # bytes the service sent
        self.closed = False         # EOF or an error reading
        self.write_failed = False   # a write failed (the service closed); what it sent may still be read
        self.closed_at = None
        self.goaway = None          # (error code name, last stream id)
        self.goaway_at = None
        self.status = {}            # stream -> :status
        self.bodies = {}            # stream -> bytes
        self.ended = set()          # streams the service ended or reset
        self.resets = {}            # stream -> error code name of the service's RST_STREAM
        self.pings = set()
        self.protocol_error = None
        self.flush()

    @property
    def next_stream(self):
        return self.conn.get_next_available_stream_id()

    @property
    def gone(self):
        return self.closed or self.write_failed

    def flush(self):
        if self.gone:
            return False
        data = self.conn.data_to_send()
        if data:
            try:
                self.sock.sendall(data)
            except OSError:
                self.write_failed = True
                return False
        return True

    def _closed(self):
        if not self.closed:
            self.closed = True
            self.closed_at = time.monotonic()

    def receive(self, wait):
        """Reads what arrives within `wait` seconds; False once the connection is gone."""
        if self.closed:
            return False
        self.sock.settimeout(max(wait, 0.001))
        try:
            data = self.sock.recv(1 << 20)
        except socket.timeout:
            return True
        except OSError:
            self._closed()
            return False
        if not data:
            self._closed()
            return False
        self.received += len(data)
        if self.goaway is not None or self.protocol_error is not None:
            return True  # the HTTP/2 state machine is over; only the close matters now
        try:
            events = self.conn.receive_data(data)
        except h2.exceptions.ProtocolError as error:
            self.protocol_error = repr(error)
            return True
        for event in events:
            if isinstance(event, h2.events.ResponseReceived):
                self.status[event.stream_id] = int(dict(event.headers).get(b":status", b"0"))
            elif isinstance(event, h2.events.DataReceived):
                self.bodies[event.stream_id] = self.bodies.get(event.stream_id, b"") + event.data
                if event.flow_controlled_length and not self.zero_window:
                    self.conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
            elif isinstance(event, h2.events.StreamEnded):
                self.ended.add(event.stream_id)
            elif isinstance(event, h2.events.StreamReset):
                self.ended.add(event.stream_id)
                if event.remote_reset:
                    self.resets[event.stream_id] = error_name(event.error_code)
            elif isinstance(event, h2.events.PingAckReceived):
                self.pings.add(event.ping_data)
            elif isinstance(event, h2.events.ConnectionTerminated):
                self.goaway = (error_name(event.error_code), event.last_stream_id)
                self.goaway_at = time.monotonic()
        self.flush()
        return True

    def headers(self, path, length=None):
        fields = [(":method", "POST"), (":path", path), (":scheme", "http"), (":authority", "pdp"),
                  ("authorization", "Bearer " + self.token), ("content-type", "application/json")]
        if length is not None:
            fields.append(("content-length", str(length)))
        return fields

    def request(self, path, body=None, end=True):
        """Opens a stream; sends `body` whole (it must fit the windows) when given."""
        stream = self.next_stream
        self.conn.send_headers(stream, self.headers(path, len(body) if body is not None and end else None),
                               end_stream=end and body is None)
        if body is not None:
            self.conn.send_data(stream, body, end_stream=end)
        return stream

    def send_body(self, stream, size, deadline):
        """Sends `size` bytes on `stream` without ending it, as the windows
        allow; returns how many were sent (fewer when the stream or the
        connection ends, or at the deadline)."""
        sent = 0
        filler = b" " * 16384
        while sent < size and not self.gone and time.monotonic() < deadline:
            try:
                room = min(self.conn.local_flow_control_window(stream), self.conn.max_outbound_frame_size)
            except h2.exceptions.StreamClosedError:
                break
            if stream in self.ended or self.goaway is not None:
                break
            if room <= 0:
                self.flush()
                self.receive(0.2)
                continue
            count = min(room, size - sent, len(filler))
            self.conn.send_data(stream, filler[:count])
            sent += count
            if sent % (256 * 1024) < count:
                self.flush()
                self.receive(0.001)
        self.flush()
        return sent

    def sync(self, timeout=5.0):
        """A PING, and everything read until its ACK: the service has then
        read every frame sent before it. False if the connection ended first."""
        if self.gone or self.goaway is not None:
            return False
        data = os.urandom(8)
        self.conn.ping(data)
        if not self.flush():
            return False
        deadline = time.monotonic() + timeout
        while data not in self.pings and time.monotonic() < deadline:
            if not self.receive(0.1) or self.goaway is not None:
                return False
        return data in self.pings

    def wait_for(self, stream, timeout=5.0):
        deadline = time.monotonic() + timeout
        while stream not in self.ended and time.monotonic() < deadline:
            if not self.receive(0.1) or self.goaway is not None:
                break
        return self.status.get(stream)

    def close(self, abrupt=False):
        if abrupt:
            # SO_LINGER 0: the close sends RST, as a crashed process or a
            # dropped network would leave the service to find out.
            try:
                self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            except OSError:
                pass
        self.sock.close()
        self._closed()


def legit_decision(port, token, source="127.0.0.1"):
    """A legitimate decision on a new connection: (status or None, what went wrong or the body)."""
    try:
        client = Client(port, token, source=source)
    except OSError as error:
        return None, "connect: %s" % error
    try:
        stream = client.request("/v1/decisions", DECISION)
        client.flush()
        status = client.wait_for(stream, 5.0)
        if status is None:
            what = "goaway" if client.goaway else "closed" if client.closed else "reset" if stream in client.resets else "timeout"
            return None, what
        return status, client.bodies.get(stream, b"").decode(errors="replace")[:200]
    finally:
        client.close()


# MARK: Metrics

SERIES = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def scrape(admin_port):
    with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % admin_port, timeout=5) as answer:
        return answer.read().decode()


def metric(text, name, **labels):
    """The value of the series `name` with (at least) `labels`, None when
    absent. A counter may be printed with or without `_total`: both match."""
    names = {name, name + "_total"}
    if name.endswith("_total"):
        names.add(name[:-len("_total")])
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        match = SERIES.match(line)
        if not match or match.group(1) not in names:
            continue
        found = dict(LABEL.findall(match.group(2) or ""))
        if all(found.get(key) == value for key, value in labels.items()):
            value = float(match.group(3))
            return int(value) if value.is_integer() else value
    return None


def metrics(admin_port, names):
    """Several series at once: {key: value}, from (key, name, labels)."""
    text = scrape(admin_port)
    return {key: metric(text, name, **labels) for key, name, labels in names}


HELD = "egress_pdp_decision_body_bytes_held"


def held(admin_port):
    return metric(scrape(admin_port), HELD)


# MARK: Scenarios

def fill_budget(args, result):
    """Opens the connections and sends the unfinished bodies; returns the clients."""
    started = time.monotonic()
    deadline = started + args.deadline
    clients, sent, answered = [], 0, {}
    for _ in range(args.connections):
        client = Client(args.port, args.token, source=args.source)
        clients.append(client)
        for _ in range(args.streams):
            stream = client.request("/v1/access", end=False)
            sent += client.send_body(stream, args.bytes_per_stream, deadline)
    synced = [client.sync() for client in clients]
    for client in clients:
        for stream, status in client.status.items():
            answered[str(status)] = answered.get(str(status), 0) + 1
    result.update({
        "connections": len(clients),
        "bytes_sent": sent,
        "bytes_wanted": args.connections * args.streams * args.bytes_per_stream,
        "all_read_by_service": all(synced),
        # Answers the attack's own streams got while sending (503 past the budget).
        "attack_answers": answered,
        "attack_seconds": round(time.monotonic() - started, 3),
    })
    result["body_bytes_held_during"] = held(args.admin)
    result["decision_status_during"], _ = legit_decision(args.port, args.token)
    return clients


def after(args, result):
    time.sleep(args.settle)
    result["decision_status_after"], result["decision_answer_after"] = legit_decision(args.port, args.token)
    values = metrics(args.admin, [
        ("body_bytes_held", HELD, {}),
        ("body_budget_refusals", "egress_pdp_decision_body_budget_refusals_total", {}),
        ("request_timeouts", "egress_pdp_decision_request_timeouts_total", {}),
        ("open_connections", "egress_pdp_decision_connections", {}),
    ])
    result.update(values)


def budget_close(args):
    result = {"scenario": "budget-close"}
    clients = fill_budget(args, result)
    for client in clients:
        client.close(abrupt=args.close_how != "fin")
    after(args, result)
    return result


def budget_goaway(args):
    result = {"scenario": "budget-goaway"}
    clients = fill_budget(args, result)
    for client in clients:
        client.conn.close_connection(error_code=h2.errors.ErrorCodes.NO_ERROR)
        client.flush()
    for client in clients:
        client.close(abrupt=args.close_how == "rst")
    after(args, result)
    return result


def budget_reset(args):
    result = {"scenario": "budget-reset"}
    clients = fill_budget(args, result)
    for client in clients:
        for stream in list(client.conn.streams):
            try:
                client.conn.reset_stream(stream, error_code=h2.errors.ErrorCodes.CANCEL)
            except h2.exceptions.StreamClosedError:
                pass
        client.flush()
    result["resets_read_by_service"] = all(client.sync() for client in clients)
    result["connections_open"] = sum(not client.closed and client.goaway is None for client in clients)
    after(args, result)
    for client in clients:
        client.close()
    return result


def budget_idle(args):
    result = {"scenario": "budget-idle"}
    clients = fill_budget(args, result)
    # Silence: read what the service sends, send nothing (but PING ACKs h2 owes).
    deadline = time.monotonic() + args.wait
    while time.monotonic() < deadline:
        for client in clients:
            client.receive(0.02)
    statuses = {}
    for client in clients:
        for status in client.status.values():
            statuses[str(status)] = statuses.get(str(status), 0) + 1
    result["streams"] = args.connections * args.streams
    result["streams_408"] = sum(status == 408 for client in clients for status in client.status.values())
    result["streams_reset"] = sum(len(client.resets) for client in clients)
    result["reset_codes"] = sorted({code for client in clients for code in client.resets.values()})
    result["statuses"] = statuses
    result["connections_closed_by_service"] = sum(client.closed or client.goaway is not None for client in clients)
    after(args, result)
    for client in clients:
        client.close()
    return result


def silent(args):
    result = {"scenario": "silent", "sockets": args.sockets}
    selector = selectors.DefaultSelector()
    opened, failed = {}, 0
    started = time.monotonic()
    for _ in range(args.sockets):
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.settimeout(2)
        try:
            sock.bind((args.flood_source, 0))
            sock.connect(("127.0.0.1", args.port))
        except OSError:
            failed += 1
            sock.close()
            continue
        sock.setblocking(False)
        opened[sock] = {"at": time.monotonic(), "bytes": 0, "closed": None}
        selector.register(sock, selectors.EVENT_READ)
    result["connect_failed"] = failed
    result["open_seconds"] = round(time.monotonic() - started, 3)

    def watch(until):
        while time.monotonic() < until and any(info["closed"] is None for info in opened.values()):
            for key, _ in selector.select(timeout=max(0.0, min(0.05, until - time.monotonic()))):
                sock, info = key.fileobj, opened[key.fileobj]
                try:
                    data = sock.recv(65536)
                except BlockingIOError:
                    continue
                except OSError:
                    data = b""
                if data:
                    info["bytes"] += len(data)  # the service's SETTINGS: it accepted the connection
                    continue
                info["closed"] = time.monotonic() - info["at"]
                selector.unregister(sock)

    # A moment for the service to accept (and refuse) them all, then a
    # legitimate client from another address while the flood still stands.
    watch(time.monotonic() + 0.2)
    result["still_open_during"] = sum(info["closed"] is None for info in opened.values())
    result["decision_status_during"], result["decision_answer_during"] = legit_decision(
        args.port, args.token, source=args.legit_source)
    watch(started + args.wait)
    closed = [info for info in opened.values() if info["closed"] is not None]
    result["closed_immediately"] = sum(info["closed"] < args.immediate for info in closed)
    result["closed_after_timeout"] = sum(info["closed"] >= args.immediate for info in closed)
    result["closed_without_a_byte"] = sum(info["bytes"] == 0 for info in closed)
    result["still_open"] = len(opened) - len(closed)
    late = [info["closed"] for info in closed if info["closed"] >= args.immediate]
    result["timeout_close_seconds"] = [round(min(late), 3), round(max(late), 3)] if late else None
    result["decision_status_after"], _ = legit_decision(args.port, args.token, source=args.legit_source)
    for sock in opened:
        sock.close()
    result.update(metrics(args.admin, [
        ("refused_source_share", "egress_pdp_decision_connections_refused_total", {"reason": "source-share"}),
        ("refused_capacity", "egress_pdp_decision_connections_refused_total", {"reason": "capacity"}),
        ("closed_preface_timeout", "egress_pdp_decision_connections_closed_total", {"reason": "preface-timeout"}),
    ]))
    return result


def idle(args):
    result = {"scenario": "idle"}
    client = Client(args.port, args.token)
    stream = client.request("/v1/decisions", DECISION)
    client.flush()
    result["decision_status"] = client.wait_for(stream)
    quiet = time.monotonic()
    deadline = quiet + args.wait
    while time.monotonic() < deadline and not client.closed:
        client.receive(0.05)
    result["goaway"] = client.goaway is not None
    result["goaway_error"] = client.goaway[0] if client.goaway else None
    result["goaway_last_stream_id"] = client.goaway[1] if client.goaway else None
    result["goaway_after_seconds"] = round(client.goaway_at - quiet, 3) if client.goaway_at else None
    result["closed"] = client.closed
    result["closed_after_seconds"] = round(client.closed_at - quiet, 3) if client.closed_at else None
    client.close()
    result["decision_status_after"], _ = legit_decision(args.port, args.token)
    result.update(metrics(args.admin, [
        ("closed_idle_timeout", "egress_pdp_decision_connections_closed_total", {"reason": "idle-timeout"})]))
    return result


def admitted(port, token, source, wait=1.0):
    """A new connection from `source`, if the service keeps it: it sends its
    SETTINGS. None when it is closed before a byte (refused at accept)."""
    try:
        client = Client(port, token, source=source)
    except OSError:
        return None
    deadline = time.monotonic() + wait
    while client.received == 0 and not client.closed and time.monotonic() < deadline:
        client.receive(0.05)
    if client.received == 0:
        client.close()
        return None
    return client


def rapid_reset(args):
    """HEADERS + RST_STREAM pairs; with --provoke, requests whose body breaks
    their content-length, so that the service resets each stream itself
    ("MadeYouReset"): both cost the service the same."""
    result = {"scenario": "rapid-reset", "pairs_per_connection": args.pairs, "provoke": args.provoke}
    started = time.monotonic()
    opened = refused = calm = other_goaway = closed_plain = resets = 0
    refused_in_a_row = 0
    codes = {}
    while time.monotonic() - started < args.duration and refused_in_a_row < 3:
        client = admitted(args.port, args.token, args.flood_source)
        if client is None:
            refused += 1
            refused_in_a_row += 1
            time.sleep(0.05)
            continue
        refused_in_a_row = 0
        opened += 1
        queued = 0
        for pair in range(1, args.pairs + 1):
            if client.gone or client.goaway is not None:
                break
            stream = client.next_stream
            if args.provoke:
                client.conn.send_headers(stream, client.headers("/v1/decisions", length=5), end_stream=False)
                client.conn.send_data(stream, DECISION, end_stream=True)
            else:
                client.conn.send_headers(stream, client.headers("/v1/decisions"), end_stream=False)
                client.conn.reset_stream(stream, error_code=h2.errors.ErrorCodes.CANCEL)
            queued += 1
            if pair % 25 == 0 or pair == args.pairs:
                if client.flush():
                    resets += queued  # counted once written to the socket
                queued = 0
                client.receive(0.001)
        # Twice: the service may answer the first PING in the same write as
        # its GOAWAY, just before it closes.
        if client.sync(2.0):
            client.sync(1.0)
        # What the service sent before it closed: its GOAWAY, if it sent one.
        deadline = time.monotonic() + 1.0
        while client.gone and not client.closed and client.goaway is None and time.monotonic() < deadline:
            client.receive(0.1)
        if client.goaway is not None:
            codes[client.goaway[0]] = codes.get(client.goaway[0], 0) + 1
            if client.goaway[0] == "ENHANCE_YOUR_CALM":
                calm += 1
            else:
                other_goaway += 1
        elif client.gone:
            closed_plain += 1
        client.close()
    result.update({
        "seconds": round(time.monotonic() - started, 3),
        "resets_sent": resets,
        "connections_admitted": opened,
        "connections_refused": refused,
        "goaway_enhance_your_calm": calm,
        "goaway_other": other_goaway,
        "goaway_codes": codes,
        "closed_without_goaway": closed_plain,
    })
    # A fresh connection from the same address, after the flood stopped.
    probe = admitted(args.port, args.token, args.flood_source)
    result["new_connection_refused"] = probe is None
    if probe is not None:
        probe.close()
    result["decision_status_after"], result["decision_answer_after"] = legit_decision(
        args.port, args.token, source=args.legit_source)
    result.update(metrics(args.admin, [
        ("refused_reset_penalty", "egress_pdp_decision_connections_refused_total", {"reason": "reset-penalty"}),
        ("closed_reset_limit", "egress_pdp_decision_connections_closed_total", {"reason": "reset-limit"}),
    ]))
    return result


def zero_window(args):
    result = {"scenario": "zero-window", "requests_wanted": args.requests}
    client = Client(args.port, args.token, settings={h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: 0})
    client.zero_window = True  # never a WINDOW_UPDATE
    sent = 0
    sent_at_goaway = None
    started = time.monotonic()
    for _ in range(args.requests):
        if client.gone or client.goaway is not None:
            break
        try:
            client.request("/v1/decisions", DECISION)
        except (h2.exceptions.ProtocolError, h2.exceptions.StreamClosedError) as error:
            result["send_error"] = repr(error)
            break
        sent += 1
        if sent % args.batch == 0:
            client.flush()
            if args.burst:
                client.receive(0.001)
            else:
                client.sync(2.0)  # the service reads each batch on its own
            if client.goaway is not None and sent_at_goaway is None:
                sent_at_goaway = sent
    client.flush()
    deadline = time.monotonic() + args.wait
    while time.monotonic() < deadline and not client.closed:
        client.receive(0.05)
        if client.goaway is not None and sent_at_goaway is None:
            sent_at_goaway = sent
    result.update({
        "requests_sent": sent,
        "requests_sent_before_goaway": sent_at_goaway,
        "answers_started": len(client.status),
        "answers_finished": len(client.ended),
        "goaway": client.goaway is not None,
        "goaway_error": client.goaway[0] if client.goaway else None,
        "goaway_last_stream_id": client.goaway[1] if client.goaway else None,
        "closed": client.closed,
        "seconds": round(time.monotonic() - started, 3),
    })
    if client.goaway:
        result["streams_opened_before_goaway"] = (client.goaway[1] + 1) // 2
    client.close()
    result["decision_status_after"], _ = legit_decision(args.port, args.token)
    result.update(metrics(args.admin, [
        ("closed_buffered_answers", "egress_pdp_decision_connections_closed_total", {"reason": "buffered-answers"})]))
    return result


SCENARIOS = {
    "budget-close": budget_close, "budget-reset": budget_reset, "budget-goaway": budget_goaway,
    "budget-idle": budget_idle, "silent": silent, "idle": idle, "rapid-reset": rapid_reset,
    "zero-window": zero_window,
}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("scenario", choices=sorted(SCENARIOS))
    parser.add_argument("port", type=int, help="the decision API's h2c port")
    parser.add_argument("admin", type=int, help="the admin API's port")
    parser.add_argument("token", help="a pep token")
    budget = parser.add_argument_group("budget scenarios")
    budget.add_argument("--connections", type=int, default=8)
    budget.add_argument("--streams", type=int, default=1, help="unfinished bodies per connection")
    budget.add_argument("--bytes-per-stream", type=int, default=128 * 1024,
                        help="at most 8388608 (8 MiB, the /v1/access body cap)")
    budget.add_argument("--close-how", choices=["rst", "fin"],
                        help="how sockets end: budget-close defaults to rst, budget-goaway to fin")
    budget.add_argument("--settle", type=float, default=0.5, help="seconds between the end of the attack and the checks")
    budget.add_argument("--deadline", type=float, default=8.0, help="seconds the sending may take in all")
    parser.add_argument("--source", default="127.0.0.1", help="the budget attack's address")
    parser.add_argument("--wait", type=float, help="seconds of silence: budget-idle 3, silent 4 (from the first connect), "
                        "idle 4, zero-window 3 (after the last request)")
    parser.add_argument("--sockets", type=int, default=200, help="silent: connections in the flood")
    parser.add_argument("--immediate", type=float, default=0.5,
                        help="silent: a close sooner than this many seconds counts as a refusal at accept")
    parser.add_argument("--flood-source", default="127.0.0.2", help="silent, rapid-reset: the attacker's address")
    parser.add_argument("--legit-source", default="127.0.0.1", help="silent, rapid-reset: the legitimate client's address")
    parser.add_argument("--pairs", type=int, default=150, help="rapid-reset: HEADERS+RST_STREAM pairs per connection")
    parser.add_argument("--duration", type=float, default=4.0, help="rapid-reset: seconds at most")
    parser.add_argument("--provoke", action="store_true",
                        help="rapid-reset: bodies that break their content-length, so that the service resets the streams")
    parser.add_argument("--requests", type=int, default=999, help="zero-window: requests on the connection")
    parser.add_argument("--batch", type=int, default=16, help="zero-window: requests sent together")
    parser.add_argument("--burst", action="store_true",
                        help="zero-window: no PING round trip after each batch, so the service reads many batches at once")
    args = parser.parse_args()
    if args.wait is None:
        args.wait = {"budget-idle": 3.0, "silent": 4.0, "idle": 4.0, "zero-window": 3.0}.get(args.scenario, 3.0)
    if args.close_how is None:
        args.close_how = "fin" if args.scenario == "budget-goaway" else "rst"
    try:
        result = SCENARIOS[args.scenario](args)
    except Exception as error:  # a report, not a traceback, for the test to show
        traceback.print_exc()
        print(json.dumps({"scenario": args.scenario, "error": repr(error)}))
        return 1
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
