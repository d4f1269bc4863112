#!/usr/bin/env python3
"""Just enough of a Kubernetes API server for Helm's install action to run offline: discovery,
the release Secrets Helm keeps, and create/get of the chart's objects. Every object Helm
creates is appended to --record as one JSON line: the chart exactly as Helm's engine rendered it.

It stores nothing beyond that and checks nothing: it is a recorder, not a cluster.
"""
import argparse
import os
import sys
import http.server
import re
import json
import socketserver
import threading
import urllib.parse
import uuid

CORE = [("configmaps", "ConfigMap"), ("secrets", "Secret"), ("services", "Service"), ("serviceaccounts", "ServiceAccount"),
        ("persistentvolumeclaims", "PersistentVolumeClaim"), ("pods", "Pod"), ("events", "Event")]
GROUPS = {
    "apps/v1": [("deployments", "Deployment"), ("statefulsets", "StatefulSet")],
    "batch/v1": [("jobs", "Job"), ("cronjobs", "CronJob")],
    "rbac.authorization.k8s.io/v1": [("roles", "Role"), ("rolebindings", "RoleBinding")],
    "policy/v1": [("poddisruptionbudgets", "PodDisruptionBudget")],
    "networking.k8s.io/v1": [("networkpolicies", "NetworkPolicy")],
    "route.openshift.io/v1": [("routes", "Route")],
    "monitoring.coreos.com/v1": [("servicemonitors", "ServiceMonitor"), ("podmonitors", "PodMonitor")],
}
VERBS = ["create", "delete", "get", "list", "patch", "update", "watch"]
lock = threading.Lock()
store = {}
record_path = None


def resource_list(group_version, resources):
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": group_version,
            "resources": [{"name": name, "singularName": kind.lower(), "namespaced": True, "kind": kind, "verbs": VERBS}
                          for name, kind in resources]}


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *_):
        pass

    def send_json(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def not_found(self):
        if os.environ.get("FAKE_KUBE_DEBUG"):
            print("404", self.command, self.path, file=sys.stderr)
        self.send_json(404, {"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "NotFound", "code": 404,
                             "message": "not found"})

    def body(self):
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) or b"{}"
        if "protobuf" in (self.headers.get("Content-Type") or ""):
            # Helm keeps its release records as Secrets, sent in protobuf: only the name matters.
            match = re.search(rb"sh\.helm\.release\.v1\.[a-z0-9.-]+", raw)
            name = match.group(0).decode() if match else "opaque"
            return {"kind": "Secret", "apiVersion": "v1", "metadata": {"name": name, "labels": {"owner": "helm"}}}
        return json.loads(raw)

    def do_GET(self):
        path = urllib.parse.urlparse(self.path).path.rstrip("/")
        if os.environ.get("FAKE_KUBE_DEBUG"):
            print("GET", self.path, self.headers.get("Accept"), file=sys.stderr)
        if path == "/version":
            return self.send_json(200, {"major": "1", "minor": "30", "gitVersion": "v1.30.0", "platform": "linux/amd64"})
        if path == "/openapi/v3":
            # Documents without schemas: the recorder checks nothing (kubernetes-validate does).
            names = ["api/v1"] + [f"apis/{gv}" for gv in GROUPS]
            return self.send_json(200, {"paths": {n: {"serverRelativeURL": f"/openapi/v3/{n}?hash=0"} for n in names}})
        if path.startswith("/openapi/v3/"):
            # One permissive schema per kind: client-side validation finds its kind and passes.
            group_version = path[len("/openapi/v3/"):].removeprefix("apis/").removeprefix("api/")
            group, _, version = group_version.rpartition("/")
            kinds = CORE if group_version == "v1" else GROUPS.get(group_version, [])
            schemas = {f"fake.{group or 'core'}.{version}.{kind}": {
                "type": "object", "x-kubernetes-preserve-unknown-fields": True,
                "x-kubernetes-group-version-kind": [{"group": group, "version": version, "kind": kind}]} for _, kind in kinds}
            return self.send_json(200, {"openapi": "3.0.0", "info": {"title": "fake", "version": "v1.30.0"},
                                        "paths": {}, "components": {"schemas": schemas}})
        if path == "/api":
            return self.send_json(200, {"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": []})
        if path == "/apis":
            groups = []
            for group_version in GROUPS:
                group, version = group_version.split("/")
                entry = {"groupVersion": group_version, "version": version}
                groups.append({"name": group, "versions": [entry], "preferredVersion": entry})
            return self.send_json(200, {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
        if path == "/api/v1":
            return self.send_json(200, resource_list("v1", CORE))
        if path.startswith("/apis/") and path[len("/apis/"):] in GROUPS:
            group_version = path[len("/apis/"):]
            return self.send_json(200, resource_list(group_version, GROUPS[group_version]))
        with lock:
            if path in store:
                return self.send_json(200, store[path])
            collection = [v for k, v in store.items() if k.rsplit("/", 1)[0] == path]
        if path.endswith("/secrets") or path.endswith("/configmaps"):
            return self.send_json(200, {"kind": "List", "apiVersion": "v1", "metadata": {"resourceVersion": "1"}, "items": collection})
        return self.not_found()

    def do_POST(self):
        path = urllib.parse.urlparse(self.path).path.rstrip("/")
        obj = self.body()
        metadata = obj.setdefault("metadata", {})
        metadata.setdefault("uid", str(uuid.uuid4()))
        metadata["resourceVersion"] = "1"
        metadata.setdefault("namespace", path.split("/namespaces/")[1].split("/")[0] if "/namespaces/" in path else None)
        recorded = json.loads(json.dumps(obj))
        if obj.get("kind") == "Job":
            # A hook Job "completes" at once, so Helm's wait for it returns.
            obj["status"] = {"succeeded": 1, "conditions": [{"type": "Complete", "status": "True"}]}
        with lock:
            store[f"{path}/{metadata.get('name')}"] = obj
            if not (obj.get("kind") == "Secret" and (metadata.get("labels") or {}).get("owner") == "helm"):
                with open(record_path, "a") as f:
                    f.write(json.dumps(recorded, sort_keys=True) + "\n")
        self.send_json(201, obj)

    def do_PUT(self):
        path = urllib.parse.urlparse(self.path).path.rstrip("/")
        obj = self.body()
        obj.setdefault("metadata", {})["resourceVersion"] = "2"
        with lock:
            store[path] = obj
        self.send_json(200, obj)

    def do_PATCH(self):
        path = urllib.parse.urlparse(self.path).path.rstrip("/")
        self.body()
        with lock:
            obj = store.get(path)
        if obj is None:
            return self.not_found()
        self.send_json(200, obj)

    def do_DELETE(self):
        path = urllib.parse.urlparse(self.path).path.rstrip("/")
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        with lock:
            store.pop(path, None)
        self.send_json(200, {"kind": "Status", "apiVersion": "v1", "status": "Success"})


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True


def serve(port, record):
    """Starts the server on a daemon thread; returns it (call shutdown() to stop)."""
    global record_path
    record_path = record
    open(record_path, "w").close()
    server = Server(("127.0.0.1", port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--record", required=True)
    args = parser.parse_args()
    serve(args.port, args.record).serve_forever()


if __name__ == "__main__":
    main()
