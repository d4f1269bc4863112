#!/usr/bin/env python3
"""Helm's own engine on a chart, offline, through helm-sdkpy (Helm v4 as a library):

  helm_render.py render CHART [--values JSON]   install against tests' fake API server; prints
                                                {"ok": true, "objects": [...]} with every object
                                                Helm created, or {"ok": false, "error": "..."}
  helm_render.py lint CHART [--values JSON]     `helm lint` on a copy of the chart whose
                                                values.yaml is merged with JSON; strict: any
                                                warning or error fails; prints {"ok", "messages"}
  helm_render.py validate                       reads objects (JSON list) on stdin, checks each
                                                built-in kind with kubernetes-validate

helm-sdkpy's lint reports only severities and paths, not texts, and it has no `template`:
rendering goes through `install` against a recorder that answers like a cluster.
"""
import argparse
import asyncio
import json
import os
import shutil
import socket
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def render(chart, values):
    import fake_kube_apiserver
    import helm_sdkpy

    work = tempfile.mkdtemp(prefix="helm-render-")
    try:
        port = free_port()
        record = os.path.join(work, "objects.jsonl")
        server = fake_kube_apiserver.serve(port, record)
        kubeconfig = os.path.join(work, "kubeconfig")
        with open(kubeconfig, "w") as f:
            f.write(f"""apiVersion: v1
kind: Config
clusters: [{{name: fake, cluster: {{server: "http://127.0.0.1:{port}"}}}}]
users: [{{name: fake, user: {{token: fake}}}}]
contexts: [{{name: fake, context: {{cluster: fake, user: fake, namespace: flink}}}}]
current-context: fake
""")
        config = helm_sdkpy.Configuration(namespace="flink", kubeconfig=kubeconfig)
        try:
            asyncio.run(helm_sdkpy.Install(config).run("flink-cdc", chart, values=values, wait=False, timeout=60))
        except Exception as error:  # the engine's message is what the test asserts on
            return {"ok": False, "error": str(error)}
        finally:
            server.shutdown()
        with open(record) as f:
            return {"ok": True, "objects": [json.loads(line) for line in f if line.strip()]}
    finally:
        shutil.rmtree(work, ignore_errors=True)


def merge(base, override):
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            merge(base[key], value)
        else:
            base[key] = value
    return base


def lint(chart, values):
    import helm_sdkpy
    import yaml

    work = tempfile.mkdtemp(prefix="helm-lint-")
    try:
        copy = os.path.join(work, os.path.basename(os.path.normpath(chart)))
        shutil.copytree(chart, copy)
        with open(os.path.join(copy, "values.yaml")) as f:
            merged = merge(yaml.safe_load(f) or {}, values)
        with open(os.path.join(copy, "values.yaml"), "w") as f:
            yaml.safe_dump(merged, f)
        os.environ["KUBECONFIG"] = os.path.join(work, "no-cluster")
        result = asyncio.run(helm_sdkpy.Lint(helm_sdkpy.Configuration(namespace="flink")).run(copy))
        names = {1: "INFO", 2: "WARNING", 3: "ERROR"}
        messages = [f"{names.get(m['Severity'], m['Severity'])} {m['Path']}" for m in result.get("Messages") or []]
        failing = [m for m in result.get("Messages") or [] if m["Severity"] >= 2]
        return {"ok": not failing and not result.get("Errors"), "messages": messages}
    finally:
        shutil.rmtree(work, ignore_errors=True)


def validate(objects):
    import kubernetes_validate

    problems, checked = [], 0
    for obj in objects:
        if obj.get("apiVersion", "").split("/")[0] in ("route.openshift.io", "monitoring.coreos.com"):
            continue  # custom resources: no schema ships with kubernetes-validate
        obj = json.loads(json.dumps(obj))
        for field in ("uid", "resourceVersion"):
            obj.get("metadata", {}).pop(field, None)
        try:
            kubernetes_validate.validate(obj, "1.30", strict=True)
            checked += 1
        except Exception as error:
            problems.append(f"{obj.get('kind')}/{obj.get('metadata', {}).get('name')}: {error}")
    return {"ok": not problems, "checked": checked, "problems": problems}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("action", choices=["render", "lint", "validate"])
    parser.add_argument("chart", nargs="?")
    parser.add_argument("--values", default="{}")
    args = parser.parse_args()
    values = json.loads(args.values)
    if args.action == "render":
        result = render(args.chart, values)
    elif args.action == "lint":
        result = lint(args.chart, values)
    else:
        result = validate(json.load(sys.stdin))
    print(json.dumps(result, sort_keys=True))


if __name__ == "__main__":
    main()
