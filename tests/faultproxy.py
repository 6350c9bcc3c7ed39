"""An HTTP proxy in front of an S3 endpoint that injects the faults S3 clients meet in production.

Clients point `AWS_ENDPOINT_URL` at the proxy; it forwards each request to the real
endpoint (moto) unless a rule picks it for a fault:

* `slowdown`: 503 with S3's `SlowDown` error body (throttling);
* `drop`: the connection closes without an answer;
* `timeout`: no answer for `hold_s` seconds, then the connection closes;
* `truncate`: the real answer's headers and half its body, then the connection closes.

A rule matches by method, an operation (`list`, `get`, `put`, `head`) and a regex on the
key, and fires on every `every`-th matching request, at most `times` times (None: always).
The proxy counts requests and injected faults, so a test knows how many requests the
client had to retry, and the real answers the client gave up on before they arrived
(`abandoned`: the endpoint was slower than the client's read timeout, a retry of its own).
"""

from __future__ import annotations

import http.client
import re
import socket
import threading
import time
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote, urlsplit

SLOWDOWN_BODY = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>SlowDown</Code>'
    b"<Message>Please reduce your request rate.</Message><RequestId>fault</RequestId></Error>"
)
FAULTS = ("slowdown", "drop", "timeout", "truncate")


@dataclass
class Rule:
    fault: str
    operation: str  # list, get, put, head
    key: str = ""  # regex searched in the object key (or the listed prefix)
    every: int = 1
    times: int | None = None
    seen: int = 0
    fired: int = 0

    def __post_init__(self):
        assert self.fault in FAULTS, self.fault

    def pick(self, operation: str, key: str) -> bool:
        if operation != self.operation or not re.search(self.key, key):
            return False
        self.seen += 1
        if self.seen % self.every or (self.times is not None and self.fired >= self.times):
            return False
        self.fired += 1
        return True


@dataclass
class FaultProxy:
    upstream: str
    hold_s: float = 3.0
    rules: list[Rule] = field(default_factory=list)
    requests: Counter = field(default_factory=Counter)  # by operation
    faults: Counter = field(default_factory=Counter)  # by (operation, fault)
    abandoned: Counter = field(default_factory=Counter)  # by operation: answers the client no longer waited for

    def __post_init__(self):
        self._lock = threading.Lock()
        target = urlsplit(self.upstream)
        self._host, self._port = target.hostname, target.port

    @property
    def injected(self) -> int:
        return sum(self.faults.values())

    def decide(self, method: str, path: str) -> tuple[str, str | None]:
        operation, key = classify(method, path)
        with self._lock:
            self.requests[operation] += 1
            for rule in self.rules:
                if rule.pick(operation, key):
                    self.faults[(operation, rule.fault)] += 1
                    return operation, rule.fault
        return operation, None

    def handler(self):
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # quiet
                pass

            def _body(self) -> bytes:
                if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                    data = b""
                    while True:
                        size = int(self.rfile.readline().split(b";")[0], 16)
                        if size == 0:
                            while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                                pass
                            return data
                        data += self.rfile.read(size)
                        self.rfile.readline()
                return self.rfile.read(int(self.headers.get("Content-Length") or 0))

            def _handle(self):
                body = self._body()
                operation, fault = proxy.decide(self.command, self.path)
                if fault == "slowdown":
                    self.send_response(503, "Slow Down")
                    self.send_header("Content-Type", "application/xml")
                    self.send_header("Content-Length", str(len(SLOWDOWN_BODY)))
                    self.end_headers()
                    self.wfile.write(SLOWDOWN_BODY if self.command != "HEAD" else b"")
                    return
                if fault in ("drop", "timeout"):
                    if fault == "timeout":
                        time.sleep(proxy.hold_s)
                    self._abort()
                    return
                status, reason, headers, answer = proxy.forward(self.command, self.path, self.headers, body)
                self.send_response(status, reason)
                length = str(len(answer))
                for name, value in headers:
                    if name.lower() == "content-length" and self.command == "HEAD":
                        length = value  # a HEAD answer has no body: its length is the object's, as the store said
                    elif name.lower() not in ("transfer-encoding", "connection", "content-length"):
                        self.send_header(name, value)
                self.send_header("Content-Length", length)
                self.end_headers()
                if self.command == "HEAD":
                    return
                if fault == "truncate" and len(answer) > 1:
                    self._send(answer[: len(answer) // 2])
                    self._abort()
                    return
                if not self._send(answer):
                    with proxy._lock:
                        proxy.abandoned[operation] += 1

            def _send(self, data: bytes) -> bool:
                """Write `data`; False when the client had already hung up."""
                try:
                    self.wfile.write(data)
                    self.wfile.flush()
                    return True
                except (BrokenPipeError, ConnectionResetError):
                    self.close_connection = True
                    return False

            def _abort(self):
                self.close_connection = True
                try:
                    self.connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

            do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = _handle

        return Handler

    def forward(self, method: str, path: str, headers, body: bytes):
        connection = http.client.HTTPConnection(self._host, self._port, timeout=60)
        try:
            forwarded = {k: v for k, v in headers.items() if k.lower() not in ("connection", "transfer-encoding", "content-length")}
            if method in ("PUT", "POST") or body:
                forwarded["Content-Length"] = str(len(body))
            connection.request(method, path, body=body or None, headers=forwarded)
            response = connection.getresponse()
            return response.status, response.reason, response.getheaders(), response.read()
        finally:
            connection.close()


def classify(method: str, path: str) -> tuple[str, str]:
    """(operation, key) of a path-style S3 request."""
    parts = urlsplit(path)
    bucket_and_key = unquote(parts.path).lstrip("/")
    _, _, key = bucket_and_key.partition("/")
    if method == "GET" and not key:
        prefix = re.search(r"(?:^|&)prefix=([^&]*)", parts.query)
        return "list", unquote(prefix.group(1)) if prefix else ""
    return {"GET": "get", "PUT": "put", "HEAD": "head", "POST": "post", "DELETE": "delete"}.get(method, method.lower()), key


@contextmanager
def fault_proxy(upstream: str, hold_s: float = 3.0):
    proxy = FaultProxy(upstream, hold_s)
    server = ThreadingHTTPServer(("127.0.0.1", 0), proxy.handler())
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        proxy.url = f"http://127.0.0.1:{server.server_address[1]}"
        yield proxy
    finally:
        server.shutdown()
        server.server_close()
