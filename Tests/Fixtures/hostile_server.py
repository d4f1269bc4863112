#!/usr/bin/env python3
"""A hostile peer for tests, on 127.0.0.1 only: a small registry, a Maven repository and a Helm
repository in one server that misbehave as --scenario scripts them. A second listener, the
"elsewhere" port (another origin), answers uploads and token requests and records whatever
reaches it. Every request is logged as a JSON line with its full Authorization header, so tests
can prove what was sent where, and what never was.

Images it serves (repository library/small, tags 1 2 3; deep:latest; dag:latest) are built here,
deterministically, so nothing comes from the internet.
"""
import argparse
import base64
import gzip
import hashlib
import http.server
import io
import json
import socketserver
import ssl
import tarfile
import threading
import time
import uuid

args = None
lock = threading.Lock()
blobs = {}        # digest -> bytes
manifests = {}    # digest -> (media type, bytes)
tags = {}         # (repository, tag) -> digest
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"


def log(entry):
    with lock:
        with open(args.log, "a") as f:
            f.write(json.dumps(entry) + "\n")


def digest_of(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def add_blob(data):
    digest = digest_of(data)
    blobs[digest] = data
    return {"mediaType": "", "digest": digest, "size": len(data)}


def add_manifest(document, media_type):
    data = json.dumps(document, sort_keys=True, separators=(",", ":")).encode()
    digest = digest_of(data)
    manifests[digest] = (media_type, data)
    return {"mediaType": media_type, "digest": digest, "size": len(data)}


def layer(text):
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        info = tarfile.TarInfo("hello.txt")
        payload = text.encode()
        info.size, info.mtime = len(payload), 0
        tar.addfile(info, io.BytesIO(payload))
    return gzip.compress(raw.getvalue(), mtime=0)


def image(text):
    content = layer(text)
    layer_descriptor = add_blob(content)
    layer_descriptor["mediaType"] = "application/vnd.oci.image.layer.v1.tar+gzip"
    diff_id = "sha256:" + hashlib.sha256(gzip.decompress(content)).hexdigest()
    config = json.dumps({"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": [diff_id]},
                         "config": {}}, sort_keys=True).encode()
    config_descriptor = add_blob(config)
    config_descriptor["mediaType"] = "application/vnd.oci.image.config.v1+json"
    return add_manifest({"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": config_descriptor,
                         "layers": [layer_descriptor]}, OCI_MANIFEST)


def build_content():
    for tag in ("1", "2", "3"):
        tags[("library/small", tag)] = image("small " + tag)["digest"]
    # A chain of indexes, each naming the next: far deeper than any real image.
    child = image("deep bottom")
    child["platform"] = {"os": "linux", "architecture": "amd64"}
    for _ in range(args.deep):
        child = add_manifest({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [child]}, OCI_INDEX)
    tags[("library/deep", "latest")] = child["digest"]
    # A diamond DAG: each level's index names the next level twice (under two annotations), so
    # the bottom is reachable by 2^levels paths.
    child = image("dag bottom")
    child["platform"] = {"os": "linux", "architecture": "amd64"}
    for level in range(args.dag_levels):
        left = dict(child, annotations={"side": "left"})
        right = dict(child, annotations={"side": "right"})
        child = add_manifest({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [left, right]}, OCI_INDEX)
    tags[("library/dag", "latest")] = child["digest"]


def chart_archive(name, version):
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for path, text in (("Chart.yaml", f"apiVersion: v2\nname: {name}\nversion: {version}\n"),
                           ("values.yaml", "replicas: 1\n")):
            info = tarfile.TarInfo(f"chart/{path}")
            payload = text.encode()
            info.size, info.mtime = len(payload), 0
            tar.addfile(info, io.BytesIO(payload))
    # gzip's header carries a time: fixed, or index.yaml's digest and the archive served a
    # second later disagree.
    return gzip.compress(raw.getvalue(), mtime=0)


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *_):
        pass

    def record(self, status, **extra):
        entry = {"port": self.server.server_address[1], "role": self.server.role, "method": self.command,
                 "path": self.path, "status": status, "authorization": self.headers.get("Authorization", "")}
        entry.update(extra)
        log(entry)

    def reply(self, status, body=b"", headers=None):
        self.record(status)
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def endless(self, status, headers, pattern=b"x" * 65536, delay=0.0):
        """A chunked body that never ends (until the client hangs up)."""
        self.record(status, endless=True)
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        sent = 0
        try:
            while sent < args.endless_cap:
                self.wfile.write(b"%x\r\n%s\r\n" % (len(pattern), pattern))
                self.wfile.flush()
                sent += len(pattern)
                if delay:
                    time.sleep(delay)
        except (BrokenPipeError, ConnectionResetError):
            pass
        log({"role": self.server.role, "event": "endless-stopped", "path": self.path, "sent": sent})
        self.close_connection = True

    def body(self):
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    do_GET = do_HEAD = do_PUT = do_POST = do_PATCH = lambda self: self.handle_any()

    def handle_any(self):
        if self.server.role == "elsewhere":
            self.body()
            if self.path.startswith("/token"):
                return self.reply(200, json.dumps({"token": "elsewhere-token"}).encode(), {"Content-Type": "application/json"})
            return self.reply(201 if self.command in ("PUT", "POST", "PATCH") else 200, b"",
                              {"Docker-Content-Digest": self.path.rsplit("digest=", 1)[-1] if "digest=" in self.path else ""})
        if self.path.startswith("/maven/"):
            return self.maven()
        if self.path.startswith("/charts/"):
            return self.helm()
        if self.path.startswith("/v2/"):
            return self.registry()
        self.reply(404)

    # --- registry ---------------------------------------------------------------------------

    def authorized(self):
        if args.scenario == "realm-elsewhere":
            token = self.headers.get("Authorization", "")
            if token == "Bearer elsewhere-token":
                return True
            realm = f"http://127.0.0.1:{args.elsewhere_port}/token"
            self.reply(401, b'{"errors":[{"code":"UNAUTHORIZED"}]}',
                       {"WWW-Authenticate": f'Bearer realm="{realm}",service="hostile"'})
            return False
        if args.basic:
            expected = "Basic " + base64.b64encode(args.basic.encode()).decode()
            if self.headers.get("Authorization", "") != expected:
                self.reply(401, b'{"errors":[{"code":"UNAUTHORIZED"}]}', {"WWW-Authenticate": 'Basic realm="hostile"'})
                return False
        return True

    def registry(self):
        self.body()
        if not self.authorized():
            return
        path = self.path.split("?")[0]
        if path == "/v2/":
            return self.reply(200, b"{}", {"Content-Type": "application/json"})
        if "/manifests/" in path:
            repository, reference = path[len("/v2/"):].split("/manifests/")
            return self.manifest(repository, reference)
        if "/blobs/uploads/" in path:
            if args.scenario == "upload-elsewhere":
                where = f"http://127.0.0.1:{args.elsewhere_port}/upload/{uuid.uuid4()}?state=abc"
                return self.reply(202, b"", {"Location": where, "Docker-Upload-UUID": "x"})
            return self.reply(404)
        if "/blobs/" in path:
            digest = path.rsplit("/blobs/", 1)[1]
            if digest not in blobs:
                return self.reply(404, b'{"errors":[{"code":"BLOB_UNKNOWN"}]}')
            if self.command == "HEAD" and args.scenario == "upload-elsewhere":
                return self.reply(404)
            data = blobs[digest]
            if self.command == "GET" and args.scenario == "stall-blob" and data == blobs.get(args.layer_digest):
                return self.stall(len(data))
            if self.command == "GET" and args.scenario == "flipped-blob" and data == blobs.get(args.layer_digest):
                # The right length, one byte wrong in the middle: only the digest can tell.
                middle = len(data) // 2
                data = data[:middle] + bytes([data[middle] ^ 0x01]) + data[middle + 1:]
                return self.reply(200, data, {"Content-Type": "application/octet-stream", "Docker-Content-Digest": digest})
            if self.command == "GET" and args.scenario == "endless-blob" and data == blobs.get(args.layer_digest):
                return self.endless(200, {"Content-Type": "application/octet-stream"})
            return self.reply(200, data, {"Content-Type": "application/octet-stream", "Docker-Content-Digest": digest})
        self.reply(404)

    def stall(self, length):
        self.record(200, stalled=True)
        self.send_response(200)
        self.send_header("Content-Length", str(length))
        self.end_headers()
        self.wfile.write(b"\x1f")
        self.wfile.flush()
        time.sleep(600)

    def manifest(self, repository, reference):
        if self.command == "PUT":
            return self.reply(201, b"", {"Docker-Content-Digest": reference if reference.startswith("sha256:") else ""})
        scenario = args.scenario
        if scenario == "endless-headers":
            self.record(200, endless=True)
            self.send_response(200)
            try:
                for number in range(args.endless_cap // 64):
                    self.send_header(f"X-Junk-{number}", "j" * 48)
                    if number % 1000 == 0:
                        self.wfile.write(b"".join(self._headers_buffer))
                        self._headers_buffer = []
                        self.wfile.flush()
            except (BrokenPipeError, ConnectionResetError):
                pass
            self.close_connection = True
            return
        if scenario == "endless-error":
            return self.endless(404, {"Content-Type": "application/json"})
        if scenario == "endless-redirect" and not self.path.endswith("?moved"):
            return self.endless(302, {"Location": self.path + "?moved"})
        if scenario == "escape-error":
            message = "\x1b[2J\x1b[31mowned\r\nairgap: everything verified OK\x00"
            body = json.dumps({"errors": [{"code": "DENIED", "message": message}]}).encode()
            return self.reply(403, body, {"Content-Type": "application/json"})
        if self.command == "HEAD" and scenario == "upload-elsewhere":
            return self.reply(404)
        digest = reference if reference.startswith("sha256:") else tags.get((repository, reference))
        if digest not in manifests:
            return self.reply(404, b'{"errors":[{"code":"MANIFEST_UNKNOWN"}]}')
        media_type, data = manifests[digest]
        self.record(200, digest=digest)
        headers = {"Content-Type": media_type, "Docker-Content-Digest": digest}
        if scenario == "trickle" and self.command == "GET":
            self.send_response(200)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            try:
                for byte in data:
                    self.wfile.write(bytes([byte]))
                    self.wfile.flush()
                    time.sleep(0.5)
            except (BrokenPipeError, ConnectionResetError):
                pass
            return
        self.send_response(200)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    # --- Maven ------------------------------------------------------------------------------

    def maven(self):
        if args.basic:
            expected = "Basic " + base64.b64encode(args.basic.encode()).decode()
            if self.headers.get("Authorization", "") != expected:
                return self.reply(401, b"unauthorized")
        jar = self.maven_jar()
        if self.path.endswith(".jar.sha1"):
            return self.reply(200, hashlib.sha1(jar).hexdigest().encode())
        if self.path.endswith(".jar"):
            if args.scenario == "endless-jar":
                return self.endless(200, {"Content-Type": "application/java-archive"})
            return self.reply(200, jar, {"Content-Type": "application/java-archive"})
        self.reply(404)

    @staticmethod
    def maven_jar():
        raw = io.BytesIO()
        import zipfile
        with zipfile.ZipFile(raw, "w") as archive:
            archive.writestr(zipfile.ZipInfo("META-INF/MANIFEST.MF", (1980, 1, 1, 0, 0, 0)), "Manifest-Version: 1.0\n")
        return raw.getvalue()

    # --- Helm -------------------------------------------------------------------------------

    def helm(self):
        archive = chart_archive(args.chart_name, args.chart_version)
        if self.path == "/charts/index.yaml":
            if args.scenario == "deep-index-yaml":
                text = "apiVersion: v1\nentries:\n  x: " + "[" * 6000 + "]" * 6000 + "\n"
                return self.reply(200, text.encode())
            if args.scenario == "duplicate-index-yaml":
                text = "apiVersion: v1\nentries: {}\nentries: {}\n"
                return self.reply(200, text.encode())
            digest = hashlib.sha256(archive).hexdigest()
            text = (f"apiVersion: v1\nentries:\n  flink-cdc:\n  - name: flink-cdc\n    version: 0.1.0\n"
                    f"    digest: {digest}\n    urls: [chart.tgz]\n")
            return self.reply(200, text.encode())
        if self.path == "/charts/chart.tgz":
            if args.scenario == "endless-chart":
                return self.endless(200, {"Content-Type": "application/gzip"})
            return self.reply(200, archive, {"Content-Type": "application/gzip"})
        self.reply(404)


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address, role):
        super().__init__(address, Handler)
        self.role = role


def main():
    global args
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--elsewhere-port", type=int, required=True)
    parser.add_argument("--log", required=True)
    parser.add_argument("--scenario", default="normal")
    parser.add_argument("--basic", help="USER:PASS the registry and Maven repository require")
    parser.add_argument("--tls-cert")
    parser.add_argument("--tls-key")
    parser.add_argument("--deep", type=int, default=3000)
    parser.add_argument("--dag-levels", type=int, default=6)
    parser.add_argument("--chart-name", default="flink-cdc")
    parser.add_argument("--chart-version", default="0.1.0")
    parser.add_argument("--endless-cap", type=int, default=8 << 30, help="stop an endless body after this many bytes")
    args = parser.parse_args()
    build_content()
    args.layer_digest = json.loads(manifests[tags[("library/small", "1")]][1])["layers"][0]["digest"]
    main_server = Server(("127.0.0.1", args.port), "main")
    if args.tls_cert:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(args.tls_cert, args.tls_key)
        main_server.socket = context.wrap_socket(main_server.socket, server_side=True)
    elsewhere = Server(("127.0.0.1", args.elsewhere_port), "elsewhere")
    threading.Thread(target=elsewhere.serve_forever, daemon=True).start()
    print("ready", flush=True)
    main_server.serve_forever()


if __name__ == "__main__":
    main()
