#!/usr/bin/env python3
"""Runs a chart's pods on podman + runc the way a kubelet on OpenShift would, for the runtime tests.

  kube_pods.py up --chart DIR [--values FILE ...] [--set-json JSON] [--objects FILE ...]
                  --work DIR --storage DIR [--authfile FILE] [--cert-dir DIR] [--claims DIR] [--uid N]
      Renders the chart with Helm's engine (helm_render.py: helm-sdkpy's install against the
      recording API server), then runs every Deployment, StatefulSet and Job pod it rendered and
      stays in the foreground as their kubelet until SIGTERM/SIGINT, when it removes every pod,
      container and network it made, by id. WORK/state.json says what runs (pods, IPs, container
      states, readiness, restarts, services); WORK/objects.json holds the rendered objects;
      WORK/logs/ the logs of every container that ended.
  kube_pods.py down --work DIR --storage DIR
      Removes what a killed `up` left behind, by the ids it recorded.
  kube_pods.py logs --work DIR --storage DIR --pod NAME --container NAME
      What a running container printed so far.

What it does as a kubelet does: images pulled with the pull policy, credentials and CA; the pod's
network namespace (a podman pod with its own IP on a bridge network the run creates), hostname =
pod name; Services resolve to their pods' IPs through /etc/hosts (name, name.ns, name.ns.svc,
name.ns.svc.cluster.local) when the Service's port is the pod's port; init containers one after
another, each to exit 0, before the containers start; ConfigMap and Secret volumes (keys, items,
modes) read-only; emptyDirs (0777) per pod; a PersistentVolumeClaim as one directory shared by every
pod that mounts it; env from value (with $(VAR) expansion), secretKeyRef, configMapKeyRef,
fieldRef (metadata.name/namespace/uid/labels/annotations, spec.nodeName/serviceAccountName,
status.podIP/hostIP) and resourceFieldRef, and envFrom; $(VAR) in command/args; command replaces
the image's entrypoint and args its cmd; resource limits as cgroup limits; readiness and liveness
probes (httpGet, tcpSocket, exec), a failing liveness probe or an exit restarting the container
(restartPolicy); a Job's pod replaced after a failure up to backoffLimit.
What OpenShift's restricted-v2 SCC does: one random UID of a namespace range (>= 1000600000) with
GID 0 and the range's first ID as fsGroup, a read-only root filesystem (podman --read-only without
its tmpfs mounts), every capability dropped, no new privileges; a pod asking for a runAsUser outside
the range, privileges, host namespaces, added capabilities or hostPath volumes is refused as the
admission would refuse it.
Not done here: scheduling (requests, nodeSelector, affinity: every pod runs), Service port remapping (port != targetPort is reported), Service env links, RBAC,
the API server (Kubernetes HA leader election needs one), Routes, PodDisruptionBudgets.
"""
import argparse
import base64
import ipaddress
import json
import math
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

NAMESPACE = "flink"
NODE_NAME = "airgap-test-node"
RESTART_LIMIT = 3  # a crash-looping container is reported after this many restarts, not retried forever
SUFFIX_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"  # what Kubernetes uses for generated names
ALLOWED_VOLUMES = {"configMap", "secret", "emptyDir", "persistentVolumeClaim", "projected", "downwardAPI", "ephemeral", "csi"}


class Refused(Exception):
    """What the API server's admission or the kubelet would refuse, with its reason."""


# ---------------------------------------------------------------------------------------------
# podman, in files of the run's own


def podman_environment(storage):
    os.makedirs(storage, exist_ok=True)
    conf = os.path.join(storage, "containers.conf")
    storage_conf = os.path.join(storage, "storage.conf")
    if not os.path.exists(conf):
        with open(conf, "w") as f:
            # runc with cgroupfs: crun fails on these hosts (cgroups in hybrid mode); without the
            # ulimits runc fails "error setting rlimit type 7".
            f.write('[containers]\ndefault_ulimits = ["nofile=1024:1024", "nproc=4096:4096"]\n'
                    '[engine]\ncgroup_manager = "cgroupfs"\nruntime = "runc"\nevents_logger = "file"\n'
                    f'[network]\nnetwork_config_dir = "{storage}/networks"\n')
    if not os.path.exists(storage_conf):
        with open(storage_conf, "w") as f:
            f.write(f'[storage]\ndriver = "overlay"\nrunroot = "{storage}/run"\ngraphroot = "{storage}/graph"\n')
    env = dict(os.environ)
    env.update(CONTAINERS_CONF=conf, CONTAINERS_STORAGE_CONF=storage_conf)
    return env


class Podman:
    def __init__(self, storage):
        self.env = podman_environment(storage)

    def run(self, *args, check=True, timeout=600):
        result = subprocess.run(["podman", *args], env=self.env, capture_output=True, text=True, timeout=timeout)
        if check and result.returncode != 0:
            raise RuntimeError(f"podman {' '.join(args[:3])}…: {result.stderr.strip() or result.stdout.strip()}")
        return result


# ---------------------------------------------------------------------------------------------
# Kubernetes semantics


def expand(text, mapping):
    """Kubernetes' $(VAR) expansion: $$ escapes, unknown names stay as written."""
    out, i = [], 0
    while i < len(text):
        if text[i] == "$" and i + 1 < len(text):
            following = text[i + 1]
            if following == "$":
                out.append("$")
                i += 2
                continue
            if following == "(":
                end = text.find(")", i + 2)
                if end != -1:
                    name = text[i + 2:end]
                    out.append(mapping[name] if name in mapping else text[i:end + 1])
                    i = end + 1
                    continue
        out.append(text[i])
        i += 1
    return "".join(out)


QUANTITY = re.compile(r"^([0-9.]+)([a-zA-Z]*)$")
SUFFIXES = {"": 1, "m": 0.001, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "Ki": 1024, "Mi": 1024 ** 2, "Gi": 1024 ** 3, "Ti": 1024 ** 4}


def quantity(value):
    match = QUANTITY.match(str(value))
    if not match or match.group(2) not in SUFFIXES:
        raise Refused(f"quantity {value!r} is not a Kubernetes quantity")
    return float(match.group(1)) * SUFFIXES[match.group(2)]


def selector_matches(selector, labels):
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def suffix(length=5):
    return "".join(random.choice(SUFFIX_ALPHABET) for _ in range(length))


class Cluster:
    """The rendered objects, looked up as the API server would serve them."""

    def __init__(self, objects):
        self.objects = objects
        self.by_kind = {}
        for obj in objects:
            self.by_kind.setdefault(obj.get("kind"), {})[obj["metadata"]["name"]] = obj

    def get(self, kind, name):
        return self.by_kind.get(kind, {}).get(name)

    def data(self, kind, name, optional=False):
        obj = self.get(kind, name)
        if obj is None:
            if optional:
                return None
            raise Refused(f'{kind.lower()} "{name}" not found')
        values = dict(obj.get("data") or {})
        if kind == "Secret":
            values = {k: base64.b64decode(v).decode() for k, v in values.items()}
            values.update(obj.get("stringData") or {})
        else:
            values.update({k: base64.b64decode(v).decode() for k, v in (obj.get("binaryData") or {}).items()})
        return values


# ---------------------------------------------------------------------------------------------
# The kubelet


class Kubelet:
    def __init__(self, args, objects, podman):
        self.args = args
        self.cluster = Cluster(objects)
        self.podman = podman
        self.work = os.path.abspath(args.work)
        # Claims outlive a release's pods: a second `up` on the same folder is an upgrade that keeps them.
        self.claims = os.path.abspath(args.claims or os.path.join(self.work, "volumes"))
        self.lock = threading.RLock()
        self.stopping = threading.Event()
        self.run_id = suffix(8)
        # One namespace's range, as OpenShift annotates it (openshift.io/sa.scc.uid-range).
        self.uid = args.uid or 1000600000 + 10000 * random.randrange(0, 100)
        self.fs_group = self.uid - self.uid % 10000
        self.state = {"run": self.run_id, "uid": self.uid, "gid": 0, "fsGroup": self.fs_group, "phase": "Starting",
                      "pods": [], "services": {}, "images": {}, "notRun": [], "events": [], "network": None}
        self.pods = []
        self.threads = []
        self.ips = None

    # --- bookkeeping --------------------------------------------------------------------------

    def event(self, message):
        with self.lock:
            self.state["events"].append(f"{time.strftime('%H:%M:%S')} {message}")
        self.save()

    def save(self):
        with self.lock:
            data = json.dumps(self.state, indent=1, sort_keys=True)
            path = os.path.join(self.work, "state.json")
            with open(path + ".tmp", "w") as f:
                f.write(data)
            os.replace(path + ".tmp", path)

    def record_id(self, kind, identifier):
        with open(os.path.join(self.work, "ids"), "a") as f:
            f.write(f"{kind} {identifier}\n")

    # --- network ------------------------------------------------------------------------------

    def create_network(self):
        taken = subprocess.run(["ip", "-4", "route"], capture_output=True, text=True).stdout
        used = [ipaddress.ip_network(word, strict=False) for word in re.findall(r"\b\d+\.\d+\.\d+\.\d+/\d+\b", taken)]
        for _ in range(100):
            subnet = ipaddress.ip_network(f"10.{random.randrange(128, 250)}.{random.randrange(0, 255)}.0/24")
            if not any(subnet.overlaps(net) for net in used):
                break
        name = f"airgap-{self.run_id}"
        self.record_id("network", name)
        self.podman.run("network", "create", "--subnet", str(subnet), "--label", f"airgap-test-run={self.run_id}", name)
        hosts = list(subnet.hosts())
        self.state["network"] = {"name": name, "subnet": str(subnet), "gateway": str(hosts[0])}
        self.ips = iter(str(ip) for ip in hosts[9:])

    # --- planning -----------------------------------------------------------------------------

    def plan(self):
        for kind in ("Deployment", "StatefulSet", "Job"):
            for name, workload in self.cluster.by_kind.get(kind, {}).items():
                spec = workload.get("spec", {})
                replicas = 1 if kind == "Job" else int(spec.get("replicas", 1))
                template = spec["template"]
                template_hash = suffix(10)
                for ordinal in range(replicas):
                    if kind == "Deployment":
                        pod_name = f"{name}-{template_hash}-{suffix()}"
                    elif kind == "StatefulSet":
                        pod_name = f"{name}-{ordinal}"
                    else:
                        pod_name = f"{name}-{suffix()}"
                    self.pods.append(Pod(self, kind, workload, template, pod_name, next(self.ips)))
        for kind in sorted(self.cluster.by_kind):
            if kind not in ("Deployment", "StatefulSet", "Job", "ConfigMap", "Secret", "Service", "PersistentVolumeClaim"):
                self.state["notRun"] += [f"{kind}/{n}" for n in self.cluster.by_kind[kind]]
        self.state["pods"] = [pod.status for pod in self.pods]
        # Services resolve to the first pod they select; headless ones also name each pod.
        hosts = {}
        for name, service in self.cluster.by_kind.get("Service", {}).items():
            selected = [pod for pod in self.pods if selector_matches(service["spec"].get("selector"), pod.labels)]
            entry = {"endpoints": [pod.ip for pod in selected], "ports": [], "problems": []}
            for port in service["spec"].get("ports", []):
                entry["ports"].append(port.get("port"))
                for pod in selected:
                    target = pod.resolve_port(port.get("targetPort", port.get("port")))
                    if target != port.get("port"):
                        entry["problems"].append(f"port {port.get('port')} -> targetPort {port.get('targetPort')} ({target}) on {pod.name}: "
                                                 "this harness resolves names to pod IPs and cannot remap ports")
            self.state["services"][name] = entry
            if selected:
                for alias in (name, f"{name}.{NAMESPACE}", f"{name}.{NAMESPACE}.svc", f"{name}.{NAMESPACE}.svc.cluster.local"):
                    hosts[alias] = selected[0].ip
            for pod in selected:
                if pod.kind == "StatefulSet" and pod.workload["spec"].get("serviceName") == name:
                    hosts[f"{pod.name}.{name}"] = pod.ip
                    hosts[f"{pod.name}.{name}.{NAMESPACE}.svc.cluster.local"] = pod.ip
        self.hosts = hosts
        self.save()

    def pull_images(self):
        wanted = {}
        for pod in self.pods:
            for container in pod.spec.get("initContainers", []) + pod.spec.get("containers", []):
                wanted[container["image"]] = container.get("imagePullPolicy", "IfNotPresent")
        for image, policy in wanted.items():
            if policy != "Always" and self.podman.run("image", "exists", image, check=False).returncode == 0:
                self.state["images"][image] = "present"
                continue
            options = []
            if self.args.authfile:
                options += ["--authfile", self.args.authfile]
            if self.args.cert_dir:
                options += ["--cert-dir", self.args.cert_dir]
            started = time.time()
            result = self.podman.run("pull", "--quiet", *options, image, check=False)
            self.state["images"][image] = (f"pulled in {time.time() - started:.1f}s" if result.returncode == 0
                                           else f"ErrImagePull: {result.stderr.strip()}")
            self.event(f"image {image}: {self.state['images'][image]}")

    # --- lifecycle ----------------------------------------------------------------------------

    def up(self):
        os.makedirs(self.work, exist_ok=True)
        self.create_network()
        self.plan()
        self.pull_images()
        self.state["phase"] = "Running"
        self.save()
        for pod in self.pods:
            thread = threading.Thread(target=pod.run, name=pod.name, daemon=True)
            thread.start()
            self.threads.append(thread)

    def spawn_job_pod(self, previous):
        """A Job's replacement pod after a failed one (restartPolicy Never)."""
        with self.lock:
            pod = Pod(self, previous.kind, previous.workload, previous.template, f"{previous.workload['metadata']['name']}-{suffix()}",
                      next(self.ips), attempt=previous.attempt + 1)
            self.pods.append(pod)
            self.state["pods"].append(pod.status)
        thread = threading.Thread(target=pod.run, name=pod.name, daemon=True)
        thread.start()
        self.threads.append(thread)

    def down(self):
        self.stopping.set()
        with self.lock:
            self.state["phase"] = "Stopping"
        self.save()
        for pod in list(self.pods):
            pod.remove()
        if self.state.get("network"):
            self.podman.run("network", "rm", "-f", self.state["network"]["name"], check=False)
        with self.lock:
            self.state["phase"] = "Stopped"
        self.save()


class Pod:
    def __init__(self, kubelet, kind, workload, template, name, ip, attempt=0):
        self.kubelet = kubelet
        self.kind = kind
        self.workload = workload
        self.template = template
        self.spec = template.get("spec", {})
        self.labels = dict(template.get("metadata", {}).get("labels") or {})
        self.annotations = dict(template.get("metadata", {}).get("annotations") or {})
        self.name = name
        self.ip = ip
        self.attempt = attempt
        self.uid = f"{random.getrandbits(64):016x}"
        self.pod_id = None
        self.directory = os.path.join(kubelet.work, "pods", name)
        self.status = {"name": name, "kind": kind, "owner": workload["metadata"]["name"], "ip": ip, "phase": "Pending",
                       "reason": "", "message": "", "ready": False, "initContainers": [], "containers": [], "attempt": attempt}

    @property
    def podman(self):
        return self.kubelet.podman

    def set(self, **changes):
        with self.kubelet.lock:
            self.status.update(changes)
        self.kubelet.save()

    def container_ports(self):
        for container in self.spec.get("containers", []):
            for port in container.get("ports", []):
                yield port

    def resolve_port(self, port, container=None):
        if isinstance(port, int) or str(port).isdigit():
            return int(port)
        candidates = container.get("ports", []) if container else list(self.container_ports())
        for entry in candidates:
            if entry.get("name") == port:
                return int(entry["containerPort"])
        return None

    # --- admission (restricted-v2) ------------------------------------------------------------

    def admit(self):
        spec, uid = self.spec, self.kubelet.uid
        low, high = self.kubelet.fs_group, self.kubelet.fs_group + 9999
        for flag in ("hostNetwork", "hostPID", "hostIPC"):
            if spec.get(flag):
                raise Refused(f"restricted-v2: {flag}=true is not allowed")
        pod_context = spec.get("securityContext") or {}
        for container in spec.get("initContainers", []) + spec.get("containers", []):
            context = dict(pod_context)
            context.update(container.get("securityContext") or {})
            user = context.get("runAsUser")
            if user is not None and not low <= int(user) <= high:
                raise Refused(f"restricted-v2: container {container['name']}: runAsUser {user} is not in the namespace's range {low}-{high}")
            if context.get("privileged"):
                raise Refused(f"restricted-v2: container {container['name']}: privileged is not allowed")
            if context.get("allowPrivilegeEscalation") is True:
                raise Refused(f"restricted-v2: container {container['name']}: allowPrivilegeEscalation=true is not allowed")
            added = set((context.get("capabilities") or {}).get("add") or []) - {"NET_BIND_SERVICE"}
            if added:
                raise Refused(f"restricted-v2: container {container['name']}: capabilities {sorted(added)} may not be added")
        for volume in spec.get("volumes", []):
            kinds = set(volume) - {"name"}
            if not kinds <= ALLOWED_VOLUMES:
                raise Refused(f"restricted-v2: volume {volume['name']} of type {sorted(kinds)} is not allowed")
        return uid

    # --- volumes ------------------------------------------------------------------------------

    def write_keys(self, target, data, items, default_mode):
        os.makedirs(target, exist_ok=True)
        os.chmod(target, 0o755)
        selected = [(item["key"], item.get("path", item["key"]), item.get("mode", default_mode)) for item in items] if items \
            else [(key, key, default_mode) for key in data]
        for key, path, mode in selected:
            if key not in data:
                raise Refused(f"key {key} not found")
            file = os.path.join(target, path)
            os.makedirs(os.path.dirname(file), exist_ok=True)
            with open(file, "w") as f:
                f.write(data[key])
            os.chown(file, 0, self.kubelet.fs_group)
            os.chmod(file, mode)

    def prepare_volumes(self):
        volumes = {}
        for volume in self.spec.get("volumes", []):
            name = volume["name"]
            path = os.path.join(self.directory, "volumes", name)
            read_only = False
            if "emptyDir" in volume:
                os.makedirs(path, exist_ok=True)
                os.chmod(path, 0o777)  # what the kubelet gives an emptyDir
            elif "configMap" in volume or "secret" in volume:
                kind = "ConfigMap" if "configMap" in volume else "Secret"
                source = volume.get("configMap") or volume.get("secret")
                data = self.kubelet.cluster.data(kind, source.get("name") or source.get("secretName"), source.get("optional", False)) or {}
                self.write_keys(path, data, source.get("items"), source.get("defaultMode", 0o644))
                read_only = True
            elif "persistentVolumeClaim" in volume:
                claim = volume["persistentVolumeClaim"]["claimName"]
                path = os.path.join(self.kubelet.claims, claim)
                if not os.path.isdir(path):
                    os.makedirs(path, exist_ok=True)
                    # A fresh volume with the pod's fsGroup applied: group-owned, setgid, group-writable.
                    os.chown(path, 0, self.kubelet.fs_group)
                    os.chmod(path, 0o2775)
                read_only = bool(volume["persistentVolumeClaim"].get("readOnly"))
            else:
                raise Refused(f"volume {name}: type {sorted(set(volume) - {'name'})} is not supported by this harness")
            volumes[name] = (path, read_only)
        return volumes

    def mounts(self, container, volumes):
        options = []
        for mount in container.get("volumeMounts", []):
            if mount["name"] not in volumes:
                raise Refused(f"container {container['name']}: volumeMount {mount['name']} names no volume")
            source, read_only = volumes[mount["name"]]
            if mount.get("subPath"):
                source = os.path.join(source, mount["subPath"])
                if not os.path.exists(source):
                    os.makedirs(source, exist_ok=True)
            read_only = read_only or mount.get("readOnly", False)
            options += ["-v", f"{source}:{mount['mountPath']}:{'ro' if read_only else 'rw'}"]
        return options

    # --- environment --------------------------------------------------------------------------

    def field(self, path):
        metadata = {"metadata.name": self.name, "metadata.namespace": NAMESPACE, "metadata.uid": self.uid,
                    "spec.nodeName": NODE_NAME, "spec.serviceAccountName": self.spec.get("serviceAccountName", "default"),
                    "status.podIP": self.ip, "status.podIPs": self.ip, "status.hostIP": self.kubelet.state["network"]["gateway"]}
        if path in metadata:
            return metadata[path]
        match = re.match(r"metadata\.(labels|annotations)\['(.+)'\]$", path)
        if match:
            return (self.labels if match.group(1) == "labels" else self.annotations).get(match.group(2), "")
        raise Refused(f"fieldRef {path} is not supported")

    def resource(self, container, ref):
        resource = ref["resource"]
        source, _, kind = resource.partition(".")
        value = ((container.get("resources") or {}).get(source) or {}).get(kind)
        if value is None:  # no limit: the node's allocatable
            value = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") if kind == "memory" else os.cpu_count()
        divisor = quantity(ref.get("divisor", "1"))
        return str(math.ceil(quantity(value) / divisor))

    def environment(self, container):
        env = {}
        for source in container.get("envFrom", []):
            prefix = source.get("prefix", "")
            if "configMapRef" in source:
                data = self.kubelet.cluster.data("ConfigMap", source["configMapRef"]["name"], source["configMapRef"].get("optional", False))
            else:
                data = self.kubelet.cluster.data("Secret", source["secretRef"]["name"], source["secretRef"].get("optional", False))
            env.update({prefix + k: v for k, v in (data or {}).items()})
        for entry in container.get("env", []):
            name = entry["name"]
            if "valueFrom" not in entry:
                env[name] = expand(str(entry.get("value", "")), env)
                continue
            source = entry["valueFrom"]
            if "fieldRef" in source:
                env[name] = self.field(source["fieldRef"]["fieldPath"])
            elif "resourceFieldRef" in source:
                env[name] = self.resource(container, source["resourceFieldRef"])
            else:
                kind, ref = ("Secret", source["secretKeyRef"]) if "secretKeyRef" in source else ("ConfigMap", source["configMapKeyRef"])
                data = self.kubelet.cluster.data(kind, ref["name"], ref.get("optional", False))
                if data is None or ref["key"] not in data:
                    if ref.get("optional"):
                        continue
                    raise Refused(f"couldn't find key {ref['key']} in {kind} {NAMESPACE}/{ref['name']}")
                env[name] = data[ref["key"]]
        return env

    # --- containers ---------------------------------------------------------------------------

    def run_options(self, container, volumes, uid):
        context = dict(self.spec.get("securityContext") or {})
        context.update(container.get("securityContext") or {})
        user = context.get("runAsUser", uid)
        options = ["--pod", self.pod_id, "--label", f"airgap-test-run={self.kubelet.run_id}",
                   "--user", f"{user}:{context.get('runAsGroup', 0)}", "--group-add", str(self.kubelet.fs_group),
                   "--read-only", "--read-only-tmpfs=false", "--cap-drop", "ALL", "--security-opt", "no-new-privileges",
                   "--pull", "never"]
        limits = (container.get("resources") or {}).get("limits") or {}
        if "memory" in limits:
            options += ["--memory", str(int(quantity(limits["memory"])))]
        if "cpu" in limits:
            # A limit above the node's cores limits nothing (runc refuses it outright).
            options += ["--cpus", f"{min(quantity(limits['cpu']), float(os.cpu_count())):.3f}"]
        env = self.environment(container)
        for key, value in env.items():
            options += ["-e", f"{key}={value}"]
        options += self.mounts(container, volumes)
        if container.get("workingDir"):
            options += ["-w", container["workingDir"]]
        command = [expand(str(word), env) for word in container.get("command") or []]
        arguments = [expand(str(word), env) for word in container.get("args") or []]
        if command:
            options += ["--entrypoint", json.dumps(command)]
        return options + [container["image"]] + arguments

    def start_container(self, container, volumes, uid, status):
        name = f"{self.name}-{container['name']}-{status['restarts']}"
        identifier = self.podman.run("create", "--name", name, *self.run_options(container, volumes, uid)).stdout.strip()
        self.kubelet.record_id("container", identifier)
        status.update(id=identifier, state="running", startedAt=time.time())
        self.podman.run("start", identifier)
        self.kubelet.save()
        return identifier

    def save_logs(self, identifier, container, restarts):
        directory = os.path.join(self.kubelet.work, "logs", self.name)
        os.makedirs(directory, exist_ok=True)
        result = self.podman.run("logs", identifier, check=False)
        with open(os.path.join(directory, f"{container}-{restarts}.log"), "w") as f:
            f.write(result.stdout + result.stderr)
        return (result.stdout + result.stderr)[-2000:]

    def exit_code(self, identifier):
        result = self.podman.run("inspect", "--format", "{{.State.Status}} {{.State.ExitCode}}", identifier, check=False)
        state, _, code = result.stdout.strip().partition(" ")
        return state, int(code or 0)

    def probe(self, probe, container, identifier):
        try:
            if "httpGet" in probe:
                get = probe["httpGet"]
                port = self.resolve_port(get["port"], container)
                url = f"{get.get('scheme', 'HTTP').lower()}://{self.ip}:{port}{get.get('path', '/')}"
                request = urllib.request.Request(url, headers={h["name"]: h["value"] for h in get.get("httpHeaders", [])})
                with urllib.request.urlopen(request, timeout=probe.get("timeoutSeconds", 1) + 1) as response:
                    return 200 <= response.status < 400
            if "tcpSocket" in probe:
                port = self.resolve_port(probe["tcpSocket"]["port"], container)
                with socket.create_connection((self.ip, port), timeout=probe.get("timeoutSeconds", 1) + 1):
                    return True
            if "exec" in probe:
                return self.podman.run("exec", identifier, *probe["exec"]["command"], check=False, timeout=30).returncode == 0
        except Exception:
            return False
        return False

    def run_init(self, volumes, uid):
        for container in self.spec.get("initContainers", []):
            status = {"name": container["name"], "state": "waiting", "restarts": 0, "exitCode": None}
            with self.kubelet.lock:
                self.status["initContainers"].append(status)
            while not self.kubelet.stopping.is_set():
                self.set(phase="Pending", reason=f"Init:{container['name']}")
                identifier = self.start_container(container, volumes, uid, status)
                code = int(self.podman.run("wait", identifier, check=False, timeout=3600).stdout.strip() or -1)
                tail = self.save_logs(identifier, container["name"], status["restarts"])
                status.update(state="terminated", exitCode=code, log=tail)
                if code == 0:
                    break
                policy = self.spec.get("restartPolicy", "Always")
                if policy == "Never" or status["restarts"] >= RESTART_LIMIT:
                    self.set(phase="Failed" if policy == "Never" else "Pending", reason="Init:Error" if policy == "Never" else "Init:CrashLoopBackOff",
                             message=f"init container {container['name']} exited {code}: {tail[-500:]}")
                    return False
                status["restarts"] += 1
                time.sleep(min(10 * status["restarts"], 20))
        return not self.kubelet.stopping.is_set()

    def run(self):
        try:
            uid = self.admit()
            os.makedirs(self.directory, exist_ok=True)
            volumes = self.prepare_volumes()
            for container in self.spec.get("initContainers", []) + self.spec.get("containers", []):
                self.environment(container)  # a missing Secret key stops the pod before anything runs
            options = ["pod", "create", "--name", self.name, "--network", self.kubelet.state["network"]["name"], "--ip", self.ip,
                       "--hostname", self.spec.get("hostname", self.name)[:63], "--label", f"airgap-test-run={self.kubelet.run_id}"]
            for alias, ip in sorted(self.kubelet.hosts.items()):
                options += ["--add-host", f"{alias}:{ip}"]
            self.pod_id = self.podman.run(*options).stdout.strip()
            self.kubelet.record_id("pod", self.pod_id)
            if not self.run_init(volumes, uid):
                self.replace_failed_job_pod()
                return
            self.set(phase="Running", reason="")
            self.supervise(volumes, uid)
        except Refused as refused:
            self.set(phase="Failed", reason="Refused", message=str(refused))
        except Exception as error:  # reported in state.json for the test to print
            if not self.kubelet.stopping.is_set():
                self.set(phase="Failed", reason="HarnessError", message=f"{type(error).__name__}: {error}")

    def supervise(self, volumes, uid):
        containers = self.spec.get("containers", [])
        statuses = []
        for container in containers:
            status = {"name": container["name"], "state": "waiting", "restarts": 0, "ready": False, "exitCode": None,
                      "lastTermination": None}
            with self.kubelet.lock:
                self.status["containers"].append(status)
            self.start_container(container, volumes, uid, status)
            statuses.append(status)
        policy = self.spec.get("restartPolicy", "Always")
        liveness_failures = [0] * len(containers)
        last_probe = [0.0] * len(containers)
        while not self.kubelet.stopping.is_set():
            for index, (container, status) in enumerate(zip(containers, statuses)):
                if status.get("gaveUp"):
                    continue
                identifier = status["id"]
                state, code = self.exit_code(identifier)
                if self.kubelet.stopping.is_set():
                    return
                if state in ("exited", "stopped"):
                    tail = self.save_logs(identifier, container["name"], status["restarts"])
                    status.update(state="terminated", exitCode=code, ready=False,
                                  lastTermination={"exitCode": code, "log": tail})
                    if policy == "Always" or (policy == "OnFailure" and code != 0):
                        if status["restarts"] >= RESTART_LIMIT:
                            status["gaveUp"] = True
                            self.set(reason="CrashLoopBackOff", message=f"{container['name']} exited {code}: {tail[-500:]}")
                            continue
                        status["restarts"] += 1
                        self.podman.run("rm", "-f", identifier, check=False)
                        time.sleep(min(5 * status["restarts"], 15))
                        self.start_container(container, volumes, uid, status)
                    continue
                if state != "running":
                    continue
                now = time.time()
                started = status["startedAt"]
                readiness = container.get("readinessProbe")
                if readiness and not status["ready"] and now - started >= min(readiness.get("initialDelaySeconds", 0), 5):
                    status["ready"] = self.probe(readiness, container, identifier)
                elif not readiness:
                    status["ready"] = True
                liveness = container.get("livenessProbe")
                if liveness and now - started >= liveness.get("initialDelaySeconds", 0) and \
                        now - last_probe[index] >= liveness.get("periodSeconds", 10):
                    last_probe[index] = now
                    if self.probe(liveness, container, identifier):
                        liveness_failures[index] = 0
                    else:
                        liveness_failures[index] += 1
                        if liveness_failures[index] >= liveness.get("failureThreshold", 3):
                            liveness_failures[index] = 0
                            self.kubelet.event(f"{self.name}/{container['name']}: liveness probe failed, restarting")
                            self.podman.run("stop", "-t", "5", identifier, check=False)
            with self.kubelet.lock:
                self.status["ready"] = all(s["ready"] for s in statuses)
                done = [s for s in statuses if s["state"] == "terminated"]
                if policy != "Always" and len(done) == len(statuses):
                    failed = any(s["exitCode"] != 0 for s in done)
                    self.status["phase"] = "Failed" if failed else "Succeeded"
            self.kubelet.save()
            if self.status["phase"] in ("Failed", "Succeeded"):
                self.replace_failed_job_pod()
                return
            time.sleep(1)

    def replace_failed_job_pod(self):
        if self.status["phase"] == "Failed" and self.kind == "Job" and not self.kubelet.stopping.is_set() and \
                self.attempt < int(self.workload["spec"].get("backoffLimit", 6)):
            time.sleep(min(10 * 2 ** self.attempt, 60))  # the Job controller's back-off, shortened
            self.kubelet.spawn_job_pod(self)

    def remove(self):
        if not self.pod_id:
            return
        grace = min(int(self.spec.get("terminationGracePeriodSeconds", 30)), 5)
        with self.kubelet.lock:
            statuses = list(self.status["containers"])
        for status in statuses:
            if status.get("id") and status.get("state") == "running":
                self.podman.run("stop", "-t", str(grace), status["id"], check=False)
                self.save_logs(status["id"], status["name"], status["restarts"])
        self.podman.run("pod", "rm", "-f", self.pod_id, check=False)


# ---------------------------------------------------------------------------------------------


def load_documents(path):
    import yaml

    with open(path) as f:
        return [doc for doc in yaml.safe_load_all(f) if doc]


def render(args):
    import helm_render

    values = {}
    for path in args.values:
        for document in load_documents(path):
            helm_render.merge(values, document)
    for text in args.set_json:
        helm_render.merge(values, json.loads(text))
    result = helm_render.render(args.chart, values)
    if not result["ok"]:
        raise SystemExit(f"kube_pods: the chart did not render: {result['error']}")
    objects = result["objects"]
    for path in args.objects:
        objects += load_documents(path)
    return objects


def up(args):
    os.makedirs(args.work, exist_ok=True)
    objects = render(args)
    with open(os.path.join(args.work, "objects.json"), "w") as f:
        json.dump(objects, f, indent=1)
    kubelet = Kubelet(args, objects, Podman(args.storage))
    finished = threading.Event()

    def stop(signum, frame):
        finished.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        kubelet.up()
        while not finished.wait(1):
            pass
    except Exception as error:
        with kubelet.lock:
            kubelet.state["phase"] = "Failed"
            kubelet.state["events"].append(f"harness: {type(error).__name__}: {error}")
        kubelet.save()
        finished.wait()
    finally:
        kubelet.down()


def down(args):
    """Removes by id what a killed `up` recorded, pods first, then the network."""
    podman = Podman(args.storage)
    path = os.path.join(args.work, "ids")
    if not os.path.exists(path):
        return
    entries = [line.split(" ", 1) for line in open(path).read().splitlines() if " " in line]
    for kind, identifier in entries:
        if kind == "pod":
            podman.run("pod", "rm", "-f", identifier, check=False)
    for kind, identifier in entries:
        if kind == "container":
            podman.run("rm", "-f", identifier, check=False)
    for kind, identifier in entries:
        if kind == "network":
            podman.run("network", "rm", "-f", identifier, check=False)


def logs(args):
    """What a running container printed (podman logs of the id state.json records)."""
    with open(os.path.join(args.work, "state.json")) as f:
        state = json.load(f)
    for pod in state["pods"]:
        if pod["name"] == args.pod:
            for container in pod["containers"] + pod["initContainers"]:
                if container["name"] == args.container and container.get("state") == "running":
                    result = Podman(args.storage).run("logs", container["id"], check=False)
                    sys.stdout.write(result.stdout + result.stderr)
                    sys.exit(result.returncode)
    sys.exit(f"kube_pods: no running container {args.container} in pod {args.pod}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("action", choices=["up", "down", "logs"])
    parser.add_argument("--pod")
    parser.add_argument("--container")
    parser.add_argument("--chart")
    parser.add_argument("--values", action="append", default=[])
    parser.add_argument("--set-json", action="append", default=[])
    parser.add_argument("--objects", action="append", default=[])
    parser.add_argument("--work", required=True)
    parser.add_argument("--storage", required=True)
    parser.add_argument("--authfile")
    parser.add_argument("--cert-dir")
    parser.add_argument("--uid", type=int)
    parser.add_argument("--claims", help="folder of the PersistentVolumeClaims' directories (default WORK/volumes)")
    args = parser.parse_args()
    {"up": up, "down": down, "logs": logs}[args.action](args)


if __name__ == "__main__":
    main()
