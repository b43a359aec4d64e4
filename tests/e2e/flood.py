"""A bounded connection flood on loopback, and a canary that times requests while it lasts.

The flood is what a client with no credentials can do to a server with a fixed number of
request threads: keep many connections open after a request (idle), open connections and
send nothing (silent), send request headers a byte at a time (drippers), or send an upload's
headers and a few bytes of its body and then nothing (stalled). One thread keeps the
drippers dripping; nothing else is sent, so every connection is still open at the end unless
the server closed it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import http.client
import json
import resource
import select
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import requests

DRIP_EVERY = 0.5  # seconds between two header bytes of a dripper
STALLED_LENGTH = 1 << 30  # what a stalled upload promises; it sends 100 bytes of it


def raise_nofile() -> None:
    """Soft RLIMIT_NOFILE up to the hard limit: the flood needs well over 1,024 sockets."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def connect(port: int) -> socket.socket:
    return socket.create_connection(("127.0.0.1", port), timeout=10)


def idle_connection(port: int) -> socket.socket:
    """A connection that made one request, read the answer and stays open (kept alive)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("GET", "/versions")
    resp = conn.getresponse()
    resp.read()
    assert resp.status == 200, resp.status
    assert conn.sock is not None
    return conn.sock


@dataclasses.dataclass
class Flood:
    port: int
    groups: dict[str, list[socket.socket]] = dataclasses.field(default_factory=dict)
    stop: threading.Event = dataclasses.field(default_factory=threading.Event)

    def open(self, *, idle: int, silent: int, drippers: int, stalled: dict[str, str]) -> None:
        """``stalled`` maps image ids to the X-Auth-Token of their uploads ('' for none)."""
        self.groups["idle"] = [idle_connection(self.port) for _ in range(idle)]
        self.groups["silent"] = [connect(self.port) for _ in range(silent)]
        self.groups["drippers"] = [connect(self.port) for _ in range(drippers)]
        self.groups["stalled"] = []
        for image_id, token in stalled.items():
            sock = connect(self.port)
            auth = f"X-Auth-Token: {token}\r\n" if token else ""
            sock.sendall(
                f"PUT /v2/images/{image_id}/file HTTP/1.1\r\nHost: 127.0.0.1\r\n{auth}"
                "Content-Type: application/octet-stream\r\n"
                f"Content-Length: {STALLED_LENGTH}\r\n\r\n".encode()
                + b"z" * 100
            )
            self.groups["stalled"].append(sock)
        threading.Thread(target=self._drip, daemon=True).start()

    def _drip(self) -> None:
        head = b"GET /v2/images HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Drip: "
        sent = 0
        while not self.stop.wait(DRIP_EVERY):
            byte = head[sent : sent + 1] or b"x"
            for sock in self.groups["drippers"]:
                with contextlib.suppress(OSError):
                    sock.send(byte, socket.MSG_DONTWAIT)
            sent += 1

    def still_open(self) -> dict[str, int]:
        """How many connections of each group the server has neither closed nor answered."""
        counts = {}
        for name, socks in self.groups.items():
            poller = select.poll()
            for sock in socks:
                poller.register(sock, select.POLLIN)
            counts[name] = len(socks) - len(poller.poll(0))
        return counts

    def close(self) -> None:
        self.stop.set()
        for socks in self.groups.values():
            for sock in socks:
                sock.close()


@contextlib.contextmanager
def flooding(port: int, **kw: object) -> Iterator[Flood]:
    raise_nofile()
    flood = Flood(port)
    try:
        flood.open(**kw)  # type: ignore[arg-type]
        yield flood
    finally:
        flood.close()


@dataclasses.dataclass
class Stats:
    count: int
    failures: list[str]
    p50: float
    p99: float
    max: float

    def __str__(self) -> str:
        return (
            f"{self.count} requests, {len(self.failures)} failures, p50 {self.p50 * 1000:.1f} ms, "
            f"p99 {self.p99 * 1000:.1f} ms, max {self.max * 1000:.1f} ms"
        )


class Canary(threading.Thread):
    """GET ``url`` every ``every`` seconds, alternately on a new connection and on a kept-alive
    one, each failing after ``timeout`` seconds; ``take()`` returns the figures so far and
    starts afresh."""

    def __init__(self, url: str, headers: dict[str, str], every: float = 0.1) -> None:
        super().__init__(daemon=True)
        self.url, self.headers, self.every = url, headers, every
        self.timeout = 2.0
        self.lock = threading.Lock()
        self.latencies: list[float] = []
        self.failures: list[str] = []
        self.halt = threading.Event()

    def run(self) -> None:
        with requests.Session() as session:
            for n in range(10**9):
                started = time.monotonic()
                get = session.get if n % 2 else requests.get
                try:
                    resp = get(self.url, headers=self.headers, timeout=self.timeout)
                    failure = "" if resp.status_code == 200 else f"{resp.status_code}"
                except requests.RequestException as exc:
                    failure = type(exc).__name__
                elapsed = time.monotonic() - started
                with self.lock:
                    self.latencies.append(elapsed)
                    if failure:
                        self.failures.append(failure)
                if self.halt.wait(max(0.0, self.every - elapsed)):
                    return

    def take(self) -> Stats:
        with self.lock:
            latencies, failures = sorted(self.latencies), self.failures
            self.latencies, self.failures = [], []
        assert latencies, "the canary made no request"
        p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
        return Stats(len(latencies), failures, statistics.median(latencies), p99, latencies[-1])


def big_upload(url: str, headers: dict[str, str], mib: int) -> tuple[str, float]:
    """PUT ``mib`` MiB, chunked, 1 MiB at a time, from another process (so that it does not
    compete with the canary for this one's GIL), niced: on loopback the client is a load on
    the server's own cores, which a real client is not. The status (or the error) and the
    MiB/s."""
    script = (
        "import json, sys, time, requests\n"
        "url, headers, mib = json.loads(sys.argv[1])\n"
        "block = bytes(range(256)) * 4096\n"
        "started = time.monotonic()\n"
        "try:\n"
        "    resp = requests.put(url, data=(block for _ in range(mib)), timeout=(5, 30),\n"
        "                        headers={**headers, 'Content-Type': 'application/octet-stream'})\n"
        "    status = str(resp.status_code)\n"
        "except requests.RequestException as exc:\n"
        "    status = repr(exc)\n"
        "print(json.dumps([status, mib / (time.monotonic() - started)]))\n"
    )
    out = subprocess.run(
        ["nice", "-n", "10", sys.executable, "-c", script, json.dumps([url, headers, mib])],
        capture_output=True,
        check=True,
        timeout=120,
    )
    status, mib_s = json.loads(out.stdout)
    return str(status), float(mib_s)
