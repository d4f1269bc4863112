#!/usr/bin/env python3
"""A registry front for tests: forwards to a real distribution registry on loopback and, on
request, behaves like the registries airgap meets in the field: Bearer token auth with a token
service, redirects of blob downloads to another host ("blob storage"), 5xx/429 answers, and
connections dropped in the middle of a blob. Every request is logged as a JSON line so tests
can assert on what airgap actually sent, with how many requests were in flight when it arrived
(counted from the request line until the answer starts: a client cannot send its next request
on that thread before, so the count never exceeds the client's concurrency).
"""
import argparse
import base64
import http.client
import http.server
import json
import secrets
import socketserver
import sys
import threading
import time
import urllib.parse

args = None
lock = threading.Lock()
INVERTED = bytes(255 - value for value in range(256))
tokens = set()
failures_left = 0
drops_left = 0
inflight = 0


def log(entry):
    with lock:
        with open(args.log, "a") as f:
            f.write(json.dumps(entry) + "\n")


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *_):
        pass

    def send_response(self, *arguments, **keywords):
        self.release()
        super().send_response(*arguments, **keywords)

    def release(self):
        global inflight
        with lock:
            if getattr(self, "counted", False):
                inflight -= 1
                self.counted = False

    def reply(self, status, body=b"", headers=None):
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def record(self, status, role):
        log({"role": role, "method": self.command, "path": self.path, "status": status,
             "authorization": self.headers.get("Authorization", "").split(" ")[0],
             "range": self.headers.get("Range"), "length": int(self.headers.get("Content-Length") or 0),
             "inflight": getattr(self, "inflight_at_start", None)})

    def do_GET(self):
        self.handle_any()

    def do_HEAD(self):
        self.handle_any()

    def do_PUT(self):
        self.handle_any()

    def do_POST(self):
        self.handle_any()

    def do_PATCH(self):
        self.handle_any()

    def handle_any(self):
        global inflight
        with lock:
            inflight += 1
            self.counted = True
            self.inflight_at_start = inflight
        try:
            self.handle_request()
        finally:
            self.release()

    def handle_request(self):
        global failures_left, drops_left
        port = self.server.server_address[1]
        if port == args.storage_port:
            return self.forward(self.path[len("/storage"):], role="storage")
        if self.path.startswith("/token"):
            return self.token()
        if args.bearer or args.anonymous_bearer:
            auth = self.headers.get("Authorization", "")
            if not (auth.startswith("Bearer ") and auth[7:] in tokens):
                realm = f"http://127.0.0.1:{port}/token"
                challenge = f'Bearer realm="{realm}",service="fault-proxy"'
                if self.path.startswith("/v2/") and self.path != "/v2/":
                    repo = self.path[4:].split("/manifests/")[0].split("/blobs/")[0]
                    challenge += f',scope="repository:{repo}:pull"'
                self.record(401, "registry")
                body = b'{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}'
                return self.reply(401, body, {"WWW-Authenticate": challenge, "Content-Type": "application/json"})
        if args.delay_substring and args.delay_substring in self.path and (not args.delay_method or args.delay_method == self.command):
            time.sleep(args.delay)
        if args.drop_upload_after and self.command in (args.drop_upload_method or "PUT PATCH").split() \
                and int(self.headers.get("Content-Length") or 0) > args.drop_upload_after:
            with lock:
                drop = drops_left > 0
                drops_left -= 1 if drop else 0
            if drop:
                partial = self.rfile.read(args.drop_upload_after)
                if args.forward_partial:
                    # The registry gets (and keeps) the part that arrived, as after a real break.
                    upstream = http.client.HTTPConnection("127.0.0.1", args.upstream_port, timeout=60)
                    headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "authorization", "connection", "content-length", "content-range")}
                    upstream.request(self.command, self.path, body=partial, headers=headers)
                    upstream.getresponse().read()
                    upstream.close()
                log({"role": "registry", "event": "dropped-upload", "path": self.path, "after": args.drop_upload_after})
                self.close_connection = True
                self.connection.shutdown(2)
                return
        if args.fail_substring and args.fail_substring in self.path and (not args.fail_method or args.fail_method == self.command):
            with lock:
                fail = failures_left > 0
                failures_left -= 1 if fail else 0
            if fail:
                # Read the body first: left in the stream, it would be parsed as the next request
                # on this keep-alive connection (a 400 from http.server, not the injected answer).
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                self.record(args.fail_status, "registry")
                headers = {"Retry-After": "0"} if args.fail_status == 429 else {}
                return self.reply(args.fail_status, b'{"errors":[{"code":"UNAVAILABLE","message":"injected"}]}', headers)
        if args.redirect_blobs and self.command == "GET" and "/blobs/sha256:" in self.path:
            self.record(307, "registry")
            return self.reply(307, b"", {"Location": f"http://localhost:{args.storage_port}/storage{self.path}"})
        candidate = bool(args.drop_after) and self.command == "GET" and "/blobs/sha256:" in self.path and "Range" not in self.headers
        self.forward(self.path, role="registry", drop_candidate=candidate)

    def token(self):
        auth = self.headers.get("Authorization", "")
        if self.command == "POST":
            # OAuth2 refresh-token grant, as docker's identity tokens are exchanged.
            length = int(self.headers.get("Content-Length") or 0)
            form = urllib.parse.parse_qs(self.rfile.read(length).decode())
            ok = form.get("grant_type") == ["refresh_token"] and args.refresh_token and form.get("refresh_token") == [args.refresh_token]
            log({"role": "token-request", "grant": form.get("grant_type", []), "scope": form.get("scope", []), "service": form.get("service", [])})
            if not ok:
                self.record(401, "token")
                return self.reply(401, b'{"details":"bad refresh token"}')
            token = secrets.token_hex(16)
            with lock:
                tokens.add(token)
            # Logged so a test can prove the client never prints a token it was given.
            log({"role": "token-issued", "token": token})
            self.record(200, "token")
            return self.reply(200, json.dumps({"access_token": token, "expires_in": 300}).encode(), {"Content-Type": "application/json"})
        if args.bearer:
            expected = "Basic " + base64.b64encode(args.bearer.encode()).decode()
            if auth != expected:
                self.record(401, "token")
                return self.reply(401, b'{"details":"bad credentials"}')
        token = secrets.token_hex(16)
        with lock:
            tokens.add(token)
        log({"role": "token-issued", "token": token})
        self.record(200, "token")
        query = urllib.parse.parse_qs(urllib.parse.urlparse(self.path).query)
        log({"role": "token-request", "scope": query.get("scope", []), "service": query.get("service", [])})
        self.reply(200, json.dumps({"token": token, "expires_in": 300}).encode(), {"Content-Type": "application/json"})

    def read_body(self, length):
        """The request body; with --throttle-upload, read no faster than that many bytes a second,
        as a slow link between enclave hosts delivers it (the client's send blocks meanwhile)."""
        if not args.throttle_upload or self.command not in ("PUT", "PATCH", "POST"):
            return self.rfile.read(length)
        chunks, received, started = [], 0, time.monotonic()
        while received < length:
            chunk = self.rfile.read(min(16 * 1024, length - received))
            if not chunk:
                break
            chunks.append(chunk)
            received += len(chunk)
            ahead = received / args.throttle_upload - (time.monotonic() - started)
            if ahead > 0:
                time.sleep(ahead)
        return b"".join(chunks)

    def forward(self, path, role, drop_candidate=False):
        global drops_left
        length = int(self.headers.get("Content-Length") or 0)
        body = self.read_body(length) if length else None
        if body is not None and len(body) < length:
            # The client went away mid-body: like a buffering ingress, pass nothing on.
            log({"role": role, "event": "client-gone", "method": self.command, "path": path, "received": len(body), "length": length})
            self.close_connection = True
            return
        upstream = http.client.HTTPConnection("127.0.0.1", args.upstream_port, timeout=60)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "authorization", "connection")}
        if args.ignore_range and "/blobs/sha256:" in path:
            # A server (or a cache in front of it) that answers every Range with the whole blob.
            headers = {k: v for k, v in headers.items() if k.lower() != "range"}
        upstream.request(self.command, path, body=body, headers=headers)
        response = upstream.getresponse()
        self.record(response.status, role)
        self.send_response(response.status)
        for name, value in response.getheaders():
            if name.lower() in ("connection", "transfer-encoding"):
                continue
            if name.lower() == "location" and value.startswith(f"http://127.0.0.1:{args.upstream_port}"):
                value = value.replace(f"http://127.0.0.1:{args.upstream_port}", f"http://127.0.0.1:{args.port}")
            self.send_header(name, value)
        has_length = response.getheader("Content-Length") is not None
        if not has_length:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        # The first blob download longer than --drop-after bytes (each of --drop-count) is cut there.
        drop_after = None
        if drop_candidate and int(response.getheader("Content-Length") or 0) > args.drop_after:
            with lock:
                if drops_left > 0:
                    drops_left -= 1
                    drop_after = args.drop_after
        sent = 0
        while self.command != "HEAD":
            chunk = response.read(64 * 1024)
            if not chunk:
                break
            if drop_after is not None and args.garble_dropped:
                # What a broken middlebox passes on before the connection dies: other bytes.
                chunk = chunk.translate(INVERTED)
            if drop_after is not None and sent + len(chunk) > drop_after:
                self.wfile.write(chunk[: max(0, drop_after - sent)])
                self.wfile.flush()
                log({"role": role, "event": "dropped", "path": path, "after": drop_after})
                self.close_connection = True
                self.connection.shutdown(2)
                return
            self.wfile.write(chunk)
            sent += len(chunk)
        upstream.close()


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    global args, failures_left, drops_left
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--storage-port", type=int, required=True)
    parser.add_argument("--upstream-port", type=int, required=True)
    parser.add_argument("--log", required=True)
    parser.add_argument("--bearer", help="USER:PASS the token service requires")
    parser.add_argument("--anonymous-bearer", action="store_true", help="token auth, tokens for anyone")
    parser.add_argument("--refresh-token", help="the identity (refresh) token the token service accepts by POST")
    parser.add_argument("--fail-substring")
    parser.add_argument("--fail-status", type=int, default=500)
    parser.add_argument("--fail-count", type=int, default=2)
    parser.add_argument("--drop-after", type=int, help="drop the first blob download after N bytes")
    parser.add_argument("--drop-count", type=int, default=1)
    parser.add_argument("--garble-dropped", action="store_true", help="invert every byte of a download that is then dropped")
    parser.add_argument("--ignore-range", action="store_true", help="answer blob GETs with Range by the whole blob (200)")
    parser.add_argument("--redirect-blobs", action="store_true")
    parser.add_argument("--fail-method", help="only fail requests with this method")
    parser.add_argument("--drop-upload-after", type=int, help="drop the first blob upload after reading N bytes of it")
    parser.add_argument("--drop-upload-method", help="only uploads with this method (PUT or PATCH)")
    parser.add_argument("--forward-partial", action="store_true", help="pass the part of a dropped upload on to the registry")
    parser.add_argument("--delay-substring", help="sleep --delay seconds before requests whose path has this")
    parser.add_argument("--delay", type=float, default=0.0)
    parser.add_argument("--delay-method", help="only delay requests with this method")
    parser.add_argument("--throttle-upload", type=int, help="read request bodies at most this many bytes a second")
    args = parser.parse_args()
    failures_left = args.fail_count
    drops_left = args.drop_count
    servers = [Server(("127.0.0.1", args.port), Handler), Server(("127.0.0.1", args.storage_port), Handler)]
    for server in servers[1:]:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    print("ready", flush=True)
    servers[0].serve_forever()


if __name__ == "__main__":
    main()
