#!/usr/bin/env python3
"""The security properties every container of the rendered manifests keeps.

Reads the output of `kubectl kustomize deploy/kubernetes` and prints each
property a resource breaks; exits 1 if any is broken. So that a later edit
cannot add a capability, run a container as root or open the admin API
without a test failing. `--self-test` breaks each property in a copy of the
manifests and checks that the checker says so (it can fail).

The properties:
  - every pod: seccomp RuntimeDefault; no hostPID, hostIPC; hostNetwork only
    for egress-pep; hostPath only /run/xtables.lock; no service account
    token in egress-pep;
  - every container (init too): allowPrivilegeEscalation false, not
    privileged, readOnlyRootFilesystem, capabilities drop ALL, adds only
    NET_ADMIN and only in egress-pep's rules containers, which alone run as
    root; memory limit and requests set;
  - egress-pdp: one replica, probes on /healthz and /readyz;
  - the ClusterRole: get, list, watch on pods and namespaces, nothing more;
  - Services: ClusterIP only.
"""
import copy
import sys

import yaml

ROOT_CONTAINERS = {("egress-pep", "install-rules"), ("egress-pep", "rules")}
ALLOWED_HOST_PATHS = {"/run/xtables.lock"}


def pod_spec(resource):
    kind = resource.get("kind")
    if kind in ("Deployment", "DaemonSet", "StatefulSet", "Job", "ReplicaSet"):
        return resource["spec"]["template"]["spec"]
    if kind == "Pod":
        return resource["spec"]
    return None


def check_container(owner, spec, container, problems):
    name = container["name"]
    where = "%s container %s" % (owner, name)
    sc = container.get("securityContext") or {}
    pod_sc = spec.get("securityContext") or {}
    if sc.get("allowPrivilegeEscalation") is not False:
        problems.append("%s: allowPrivilegeEscalation is not false" % where)
    if sc.get("privileged"):
        problems.append("%s: privileged" % where)
    if sc.get("readOnlyRootFilesystem") is not True:
        problems.append("%s: the root filesystem is writable" % where)
    caps = sc.get("capabilities") or {}
    if "ALL" not in (caps.get("drop") or []):
        problems.append("%s: capabilities do not drop ALL" % where)
    added = set(caps.get("add") or [])
    may_add = {"NET_ADMIN"} if (owner, name) in ROOT_CONTAINERS else set()
    if added - may_add:
        problems.append("%s: adds capabilities %s" % (where, ", ".join(sorted(added - may_add))))
    as_root = sc.get("runAsUser", pod_sc.get("runAsUser")) == 0 or not sc.get("runAsNonRoot", pod_sc.get("runAsNonRoot", False))
    if as_root and (owner, name) not in ROOT_CONTAINERS:
        problems.append("%s: may run as root (runAsNonRoot is not true, or runAsUser is 0)" % where)
    resources = container.get("resources") or {}
    if not (resources.get("limits") or {}).get("memory") or not resources.get("requests"):
        problems.append("%s: no memory limit or no requests" % where)


def check_pod(owner, spec, problems):
    seccomp = ((spec.get("securityContext") or {}).get("seccompProfile") or {}).get("type")
    for container in spec.get("initContainers", []) + spec.get("containers", []):
        own = ((container.get("securityContext") or {}).get("seccompProfile") or {}).get("type")
        if (own or seccomp) != "RuntimeDefault":
            problems.append("%s container %s: seccomp is not RuntimeDefault" % (owner, container["name"]))
        check_container(owner, spec, container, problems)
    for field in ("hostPID", "hostIPC"):
        if spec.get(field):
            problems.append("%s: %s" % (owner, field))
    if spec.get("hostNetwork") and owner != "egress-pep":
        problems.append("%s: hostNetwork" % owner)
    for volume in spec.get("volumes", []):
        path = (volume.get("hostPath") or {}).get("path")
        if path is not None and path not in ALLOWED_HOST_PATHS:
            problems.append("%s: mounts the host's %s" % (owner, path))
    if owner == "egress-pep" and spec.get("automountServiceAccountToken") is not False:
        problems.append("egress-pep: mounts a service account token")


def check(resources):
    problems = []
    for resource in resources:
        kind, name = resource.get("kind"), resource["metadata"]["name"]
        spec = pod_spec(resource)
        if spec is not None:
            check_pod(name, spec, problems)
        if kind == "Deployment" and name == "egress-pdp":
            if resource["spec"].get("replicas") != 1:
                problems.append("egress-pdp: not one replica (SQLite has one writer)")
            container = spec["containers"][0]
            paths = {(container.get(p) or {}).get("httpGet", {}).get("path") for p in ("livenessProbe", "readinessProbe")}
            if paths != {"/healthz", "/readyz"}:
                problems.append("egress-pdp: probes are not on /healthz and /readyz")
        if kind == "ClusterRole":
            for rule in resource.get("rules", []):
                if set(rule.get("verbs", [])) - {"get", "list", "watch"} or set(rule.get("resources", [])) - {"pods", "namespaces"} \
                        or rule.get("apiGroups") != [""]:
                    problems.append("ClusterRole %s: grants more than get/list/watch on pods and namespaces: %s" % (name, rule))
        if kind == "Service" and resource["spec"].get("type", "ClusterIP") != "ClusterIP":
            problems.append("Service %s: type %s exposes it outside the cluster" % (name, resource["spec"]["type"]))
    return problems


def find(resources, kind, name):
    return next(r for r in resources if r["kind"] == kind and r["metadata"]["name"] == name)


def self_test(resources):
    """Each mutation must be caught: the checker can fail."""
    def add_capability(r):
        find(r, "DaemonSet", "egress-pep")["spec"]["template"]["spec"]["containers"][0]["securityContext"]["capabilities"]["add"] = ["SYS_ADMIN"]

    def pdp_as_root(r):
        find(r, "Deployment", "egress-pdp")["spec"]["template"]["spec"]["containers"][0]["securityContext"]["runAsNonRoot"] = False
        find(r, "Deployment", "egress-pdp")["spec"]["template"]["spec"]["securityContext"]["runAsNonRoot"] = False

    def privileged_init(r):
        find(r, "DaemonSet", "egress-pep")["spec"]["template"]["spec"]["initContainers"][0]["securityContext"]["privileged"] = True

    def keep_capabilities(r):
        find(r, "Deployment", "egress-pdp")["spec"]["template"]["spec"]["containers"][0]["securityContext"]["capabilities"]["drop"] = []

    def writable_root(r):
        del find(r, "DaemonSet", "egress-pep")["spec"]["template"]["spec"]["containers"][0]["securityContext"]["readOnlyRootFilesystem"]

    def wider_role(r):
        find(r, "ClusterRole", "egress-pdp")["rules"][0]["resources"].append("secrets")

    def admin_exposed(r):
        find(r, "Service", "egress-pdp-admin")["spec"]["type"] = "NodePort"

    def host_root(r):
        find(r, "DaemonSet", "egress-pep")["spec"]["template"]["spec"]["volumes"].append({"name": "root", "hostPath": {"path": "/"}})

    def no_seccomp(r):
        del find(r, "Deployment", "egress-pdp")["spec"]["template"]["spec"]["securityContext"]["seccompProfile"]

    mutations = [add_capability, pdp_as_root, privileged_init, keep_capabilities, writable_root, wider_role,
                 admin_exposed, host_root, no_seccomp]
    failures = 0
    for mutation in mutations:
        mutated = copy.deepcopy(resources)
        mutation(mutated)
        found = check(mutated)
        print("self-test %-18s %s" % (mutation.__name__, ("caught: " + found[0]) if found else "NOT CAUGHT"))
        failures += not found
    return failures


def main():
    args = [a for a in sys.argv[1:] if a != "--self-test"]
    if len(args) != 1:
        sys.exit("usage: security_properties.py [--self-test] RENDERED.yaml")
    with open(args[0]) as f:
        resources = [r for r in yaml.safe_load_all(f) if r]
    problems = check(resources)
    for problem in problems:
        print("security property broken: " + problem)
    if problems:
        sys.exit(1)
    print("security properties hold for %d resources" % len(resources))
    if "--self-test" in sys.argv and self_test(resources):
        sys.exit("the checker missed a broken property")


if __name__ == "__main__":
    main()
