#!/usr/bin/env python3
"""Checks that egress-pdp's audit trail holds the records an e2e run expects.

Used by Tests/e2e/pep-e2e. Reads the trail through the admin API
(GET /v1/audit, paged with `after`), polling until every expected record is
there or --timeout seconds have passed: the enforcer reports connections in
batches, so their records arrive a little after the connection.

--expect names a tab-separated file, one expected record per line:

    KIND  SOURCE_IP  HOST  VERDICT  REASON  CHECKS  DESCRIPTION

- KIND: `access` (reported by the pep) or `decision`.
- HOST: exact host as recorded (lower case), `<empty>` for an empty host
  (no SNI, not TLS), or `*` for any.
- VERDICT: `allow`, `deny` or `*`.
- REASON: the exact `reason`, `-` for none (allowed connections), `*` for any.
- CHECKS: `-`, or comma-separated terms on other fields:
  `field=value` (must be present and equal), `field?=value` (equal when
  present), `field!~text` (when present, must not contain text).
- DESCRIPTION: free text, used in the report.

Each record satisfies at most one expectation. `--identity IP=NAMESPACE/POD`
(repeatable) also requires every matched record from IP to carry that
workload's namespace and pod, as the inventory resolves them.

Prints one `ok - audit: ...` or `not ok - audit: ...` line per expectation,
with the nearest records as details for a missing one; exits 1 if any is
missing.
"""

import argparse
import json
import sys
import time
import urllib.error
import urllib.parse
import urllib.request


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--server", default="http://127.0.0.1:15011")
    parser.add_argument("--token-file", required=True)
    parser.add_argument("--expect", required=True)
    parser.add_argument("--identity", action="append", default=[], metavar="IP=NAMESPACE/POD")
    parser.add_argument("--timeout", type=float, default=5.0)
    parser.add_argument("--dump", help="write every record read to this file (JSON lines)")
    return parser.parse_args()


class Expectation:
    def __init__(self, line_number, fields):
        if len(fields) < 7:
            raise ValueError(f"line {line_number}: expected 7 tab-separated fields, got {len(fields)}")
        self.kind, self.source_ip, self.host, self.verdict, self.reason, checks, self.description = fields[:7]
        self.checks = [] if checks in ("", "-") else [c for c in checks.split(",") if c]

    def matches(self, record):
        if record.get("kind") != self.kind or record.get("sourceIP") != self.source_ip:
            return False
        host = record.get("host")
        if self.host == "<empty>":
            if host not in ("", None):
                return False
        elif self.host != "*" and host != self.host:
            return False
        if self.verdict != "*" and record.get("verdict") != self.verdict:
            return False
        reason = record.get("reason")
        if self.reason == "-":
            if reason not in (None, ""):
                return False
        elif self.reason != "*" and reason != self.reason:
            return False
        for check in self.checks:
            if "!~" in check:
                field, text = check.split("!~", 1)
                if field in record and text in str(record[field]):
                    return False
            elif "?=" in check:
                field, value = check.split("?=", 1)
                if field in record and str(record[field]) != value:
                    return False
            elif "=" in check:
                field, value = check.split("=", 1)
                if str(record.get(field)) != value:
                    return False
            else:
                raise ValueError(f"bad check {check!r}")
        return True

    def summary(self):
        host = self.host if self.host != "<empty>" else "''"
        reason = "" if self.reason in ("-", "*") else f" reason={self.reason}"
        return f"{self.kind} from {self.source_ip} to {host}: {self.verdict}{reason}"


class Trail:
    def __init__(self, server, token):
        self.server = server.rstrip("/")
        self.token = token
        self.records = []
        self.after = 0

    def fetch_new(self):
        while True:
            query = urllib.parse.urlencode({"after": self.after, "limit": 10000})
            request = urllib.request.Request(f"{self.server}/v1/audit?{query}",
                                             headers={"authorization": f"Bearer {self.token}"})
            with urllib.request.urlopen(request, timeout=5) as answer:
                page = json.load(answer)
            records = page.get("records", [])
            self.records.extend(records)
            if records:
                self.after = records[-1]["seq"]
            if "next" not in page or not records:
                return


def assign(expectations, records):
    """Each record satisfies one expectation at most. Specific expectations
    (exact host, verdict and reason) pick first, so that a wildcard one
    cannot take the record a specific one needs."""
    used = set()
    found = {}

    def specificity(item):
        e = item[1]
        return (e.host == "*") + (e.verdict == "*") + (e.reason == "*")

    for index, expectation in sorted(enumerate(expectations), key=specificity):
        for position, record in enumerate(records):
            if position not in used and expectation.matches(record):
                used.add(position)
                found[index] = record
                break
    return found


def main():
    args = parse_args()
    with open(args.token_file) as f:
        token = f.read().strip()
    expectations = []
    with open(args.expect) as f:
        for number, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if line and not line.startswith("#"):
                expectations.append(Expectation(number, line.split("\t")))
    identities = {}
    for item in args.identity:
        ip, _, name = item.partition("=")
        namespace, _, pod = name.partition("/")
        identities[ip] = (namespace, pod)

    trail = Trail(args.server, token)
    deadline = time.monotonic() + args.timeout
    while True:
        try:
            trail.fetch_new()
        except (urllib.error.URLError, OSError, ValueError) as error:
            print(f"# audit_check: reading the trail failed: {error}", file=sys.stderr)
        found = assign(expectations, trail.records)
        if len(found) == len(expectations) or time.monotonic() >= deadline:
            break
        time.sleep(0.2)

    if args.dump:
        with open(args.dump, "w") as f:
            for record in trail.records:
                f.write(json.dumps(record, sort_keys=True) + "\n")

    failures = 0
    for index, expectation in enumerate(expectations):
        record = found.get(index)
        problem = None
        if record is not None and expectation.source_ip in identities:
            namespace, pod = identities[expectation.source_ip]
            if record.get("namespace") != namespace or record.get("pod") != pod:
                problem = (f"record {record.get('seq')} names workload "
                           f"{record.get('namespace')}/{record.get('pod')}, expected {namespace}/{pod}")
        if record is not None and problem is None:
            who = f"{record.get('namespace')}/{record.get('pod')}" if record.get("namespace") else record.get("sourceIP")
            print(f"ok - audit: {expectation.description} ({expectation.summary()}; seq {record['seq']}, {who})")
            continue
        failures += 1
        print(f"not ok - audit: {expectation.description} ({expectation.summary()})")
        if problem:
            print(f"#   {problem}")
        else:
            print(f"#   no matching record among {len(trail.records)} read within {args.timeout:g} s; "
                  f"records of that kind from {expectation.source_ip}:")
            near = [r for r in trail.records
                    if r.get("kind") == expectation.kind and r.get("sourceIP") == expectation.source_ip]
            for r in near[-12:]:
                keep = {k: r[k] for k in ("seq", "host", "verdict", "reason", "rule", "originalDestination",
                                          "upstream", "namespace", "pod") if k in r}
                print(f"#     {json.dumps(keep, sort_keys=True)}")
            if not near:
                print("#     (none)")
    kinds = {}
    for r in trail.records:
        kinds[r.get("kind")] = kinds.get(r.get("kind"), 0) + 1
    print(f"# audit_check: {len(trail.records)} records read ({', '.join(f'{k}: {v}' for k, v in sorted(kinds.items()))}); "
          f"{len(expectations) - failures} of {len(expectations)} expectations met")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
