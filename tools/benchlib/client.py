"""HTTP to the endpoint under test: keep-alive connections, JSON calls, chunked uploads."""

from __future__ import annotations

import http.client
import json
import urllib.parse
from collections.abc import Callable, Iterator
from typing import Any


class BenchError(Exception):
    """A request that did not do what it should (status, body, hash)."""


class Endpoint:
    def __init__(
        self, url: str, token: str, timeout: float, more: dict[str, str] | None = None
    ) -> None:
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise SystemExit(f"bench: not an http(s) URL: {url}")
        self.url = url.rstrip("/")
        self.https = parts.scheme == "https"
        self.host = parts.hostname
        self.port = parts.port or (443 if self.https else 80)
        self.prefix = parts.path.rstrip("/")
        self.token = token
        self.timeout = timeout
        self.more = more or {}

    def connect(self) -> http.client.HTTPConnection:
        cls = http.client.HTTPSConnection if self.https else http.client.HTTPConnection
        return cls(self.host, self.port, timeout=self.timeout)

    def headers(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        return {"X-Auth-Token": self.token, **self.more, **(extra or {})}


class Conn:
    """One keep-alive connection (reopened when the server closes it, as uWSGI does)."""

    def __init__(self, ep: Endpoint) -> None:
        self.ep = ep
        self.http: http.client.HTTPConnection | None = None
        self.used = False
        self.last_headers: http.client.HTTPMessage = http.client.HTTPMessage()  # of the last answer

    def close(self) -> None:
        if self.http is not None:
            self.http.close()
        self.http = None
        self.used = False

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, bytes]:
        hdrs = self.ep.headers(headers)
        payload = json.dumps(body).encode() if isinstance(body, dict | list) else body
        if isinstance(body, dict | list) and "Content-Type" not in hdrs:
            hdrs["Content-Type"] = "application/json"
        for attempt in (1, 2):
            if self.http is None:
                self.http = self.ep.connect()
            reused = self.used
            try:
                self.http.request(method, self.ep.prefix + path, body=payload, headers=hdrs)
                resp = self.http.getresponse()
                data = resp.read()
                self.last_headers = resp.headers
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self.close()
                # a kept-alive connection the server closed while idle: retry once, as
                # urllib3 does; a fresh connection failing is an error
                if reused and attempt == 1:
                    continue
                raise
            except Exception:
                self.close()
                raise
            self.used = True
            if resp.will_close:
                self.close()
            return resp.status, data
        raise AssertionError("unreachable")

    def expect(self, status: int | tuple[int, ...], method: str, path: str, **kw: Any) -> bytes:
        code, data = self.request(method, path, **kw)
        wanted = status if isinstance(status, tuple) else (status,)
        if code not in wanted:
            text = data[:300].decode(errors="replace").strip()
            raise BenchError(f"{method} {path}: HTTP {code} (wanted {wanted}): {text}")
        return data

    def json(self, status: int | tuple[int, ...], method: str, path: str, **kw: Any) -> Any:
        data = self.expect(status, method, path, **kw)
        try:
            return json.loads(data)
        except ValueError as exc:
            raise BenchError(f"{method} {path}: body is not JSON: {data[:200]!r}") from exc


def put_chunked(
    ep: Endpoint, path: str, blocks: Iterator[bytes], started: Callable[[], None] | None = None
) -> int:
    """PUT ``blocks`` with ``Transfer-Encoding: chunked``, one chunk a block, the way
    python-glanceclient (requests) sends a file: size line, block, CRLF. Returns bytes sent."""
    conn = ep.connect()
    sent = 0
    try:
        conn.putrequest("PUT", ep.prefix + path, skip_accept_encoding=True)
        headers = ep.headers(
            {"Content-Type": "application/octet-stream", "Transfer-Encoding": "chunked"}
        )
        for name, value in headers.items():
            conn.putheader(name, value)
        conn.endheaders()
        first = True
        try:
            for block in blocks:
                conn.send(b"%X\r\n" % len(block))
                conn.send(block)
                conn.send(b"\r\n")
                sent += len(block)
                if first and started is not None:
                    started()
                first = False
            conn.send(b"0\r\n\r\n")
        except OSError as exc:
            # the server gave up on the body: report its answer when there is one
            try:
                resp = conn.getresponse()
                text = resp.read()[:300].decode(errors="replace")
                raise BenchError(
                    f"PUT {path}: HTTP {resp.status} after {sent} bytes: {text}"
                ) from exc
            except (OSError, http.client.HTTPException):
                raise BenchError(f"PUT {path}: {exc!r} after {sent} bytes") from exc
        resp = conn.getresponse()
        data = resp.read()
        if resp.status != 204:
            text = data[:300].decode(errors="replace")
            raise BenchError(f"PUT {path}: HTTP {resp.status} (wanted 204): {text}")
        return sent
    finally:
        conn.close()
