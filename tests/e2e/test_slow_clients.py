"""Slow and broken clients against the real server (2 workers, 8 threads each) while a canary
keeps asking for an image: clients that drip headers or body bytes, declare a length and
stall, or half-close. The canary must never fail and stay fast; header drippers are cut off
after ``client_header_timeout``, stalled bodies after ``client_socket_timeout``, and uploads
that were cut off leave their image queued.

All traffic goes to 127.0.0.1; every loop and wait is bounded.
"""

from __future__ import annotations

import dataclasses
import select
import socket
import statistics
import threading
import time
from collections.abc import Callable

import pytest
import requests

from tests.support.server import Server

# tools/test's first pass only: connection handling is the server's; what a cut-off upload leaves
# in the database is tested on every engine by test_streaming.py
pytestmark = [pytest.mark.e2e, pytest.mark.first_pass]

HEADER_TIMEOUT = 4
SOCKET_TIMEOUT = 3
DRIP_EVERY = 0.5
RUN_FOR = 9.0  # seconds the slow clients and the canary run
CANARY_P99 = 1.0


@pytest.fixture
def server_options() -> dict[str, object]:
    return {
        "client_header_timeout": HEADER_TIMEOUT,
        "client_socket_timeout": SOCKET_TIMEOUT,
        "keepalive_timeout": 5,
    }


@dataclasses.dataclass
class Outcome:
    """What a slow client saw: when the server closed on it (seconds from its start, or None
    if it never did while the client kept going), and the first line of any response."""

    name: str
    closed_after: float | None = None
    status_line: str = ""


def connect(server: Server) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=2)
    sock.setblocking(True)
    return sock


def closed_or_answered(sock: socket.socket, outcome: Outcome, started: float) -> bool:
    """Non-blocking look at the socket: True once the server answered or closed."""
    readable, _, _ = select.select([sock], [], [], 0)
    if not readable:
        return False
    try:
        data = sock.recv(65536)
    except OSError:
        data = b""
    if data and not outcome.status_line:
        outcome.status_line = data.split(b"\r\n", 1)[0].decode(errors="replace")
    if not data or outcome.status_line:
        outcome.closed_after = time.monotonic() - started
        return True
    return False


def drip(server: Server, outcome: Outcome, head: bytes, payload: bytes, deadline: float) -> None:
    """Send ``head`` at once, then ``payload`` a byte every DRIP_EVERY seconds until the server
    answers or closes, the payload runs out, or ``deadline``."""
    started = time.monotonic()
    with connect(server) as sock:
        sock.sendall(head)
        for byte in payload:
            if time.monotonic() > deadline or closed_or_answered(sock, outcome, started):
                return
            try:
                sock.sendall(bytes([byte]))
            except OSError:
                outcome.closed_after = time.monotonic() - started
                return
            time.sleep(DRIP_EVERY)


def stall(server: Server, outcome: Outcome, head: bytes, deadline: float) -> None:
    """Send ``head`` (which promises more than it holds), then wait without sending."""
    started = time.monotonic()
    with connect(server) as sock:
        sock.sendall(head)
        while time.monotonic() < deadline:
            if closed_or_answered(sock, outcome, started):
                return
            time.sleep(0.05)


def half_close(server: Server, outcome: Outcome, head: bytes, deadline: float) -> None:
    """Send part of a request, then shut the write side."""
    started = time.monotonic()
    with connect(server) as sock:
        sock.sendall(head)
        sock.shutdown(socket.SHUT_WR)
        while time.monotonic() < deadline:
            if closed_or_answered(sock, outcome, started):
                return
            time.sleep(0.05)


def create(server: Server, name: str) -> str:
    resp = requests.post(
        f"{server.url}/v2/images",
        json={"name": name, "disk_format": "raw", "container_format": "bare"},
        timeout=5,
    )
    assert resp.status_code == 201, resp.text
    return str(resp.json()["id"])


def upload_head(image_id: str, length: int) -> bytes:
    return (
        f"PUT /v2/images/{image_id}/file HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Content-Type: application/octet-stream\r\nContent-Length: {length}\r\n\r\n"
    ).encode()


def test_slow_clients_do_not_block_the_canary(server: Server) -> None:
    canary_id = create(server, "canary")
    drip_upload = [create(server, f"drip-upload-{i}") for i in range(2)]
    stalled_upload = create(server, "stalled-upload")
    deadline = time.monotonic() + RUN_FOR

    outcomes: list[Outcome] = []
    jobs: list[Callable[[], None]] = []

    def job(name: str, func: Callable[..., None], *args: object) -> None:
        outcome = Outcome(name)
        outcomes.append(outcome)
        jobs.append(lambda: func(server, outcome, *args))

    header_start = b"GET /v2/images HTTP/1.1\r\nHost: 127.0.0.1\r\n"
    endless_header = b"X-Drip: " + b"x" * 100 + b"\r\n\r\n"
    for i in range(2):
        job(f"header-drip-{i}", drip, header_start, endless_header, deadline)
    for i, image_id in enumerate(drip_upload):
        job(f"body-drip-{i}", drip, upload_head(image_id, 1000), b"y" * 1000, deadline)
    post = b"POST /v2/images HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
    job("json-stall", stall, post + b'Content-Length: 100\r\n\r\n{"name": ', deadline)
    job("upload-stall", stall, upload_head(stalled_upload, 10_000) + b"z" * 100, deadline)
    job("half-close", half_close, header_start + b"X-Half: 1", deadline)

    threads = [threading.Thread(target=j, daemon=True) for j in jobs]
    for thread in threads:
        thread.start()
    time.sleep(0.5)  # let every slow client take its thread first

    latencies: list[float] = []
    failures: list[str] = []
    with requests.Session() as session:
        while time.monotonic() < deadline:
            started = time.monotonic()
            try:
                resp = session.get(f"{server.url}/v2/images/{canary_id}", timeout=5)
                if resp.status_code != 200:
                    failures.append(f"{resp.status_code} {resp.text[:100]}")
            except requests.RequestException as exc:
                failures.append(repr(exc))
            latencies.append(time.monotonic() - started)
            time.sleep(0.02)
    for thread in threads:
        thread.join(timeout=RUN_FOR + 5)
        assert not thread.is_alive()

    latencies.sort()
    p50 = statistics.median(latencies)
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    print(
        f"\ncanary: {len(latencies)} requests, {len(failures)} failures, "
        f"p50 {p50 * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms, max {latencies[-1] * 1000:.1f} ms"
    )
    for outcome in outcomes:
        after = "never" if outcome.closed_after is None else f"{outcome.closed_after:.1f} s"
        print(f"  {outcome.name}: closed after {after} {outcome.status_line}")
    assert not failures, failures[:5]
    assert p99 < CANARY_P99

    seen = {o.name: o for o in outcomes}
    for i in range(2):  # cut off however steadily they drip
        closed = seen[f"header-drip-{i}"].closed_after
        assert closed is not None and HEADER_TIMEOUT - 1 <= closed <= HEADER_TIMEOUT + 3, closed
        assert seen[f"header-drip-{i}"].status_line == ""
    for name in ("json-stall", "upload-stall"):  # silent for client_socket_timeout: 400
        closed = seen[name].closed_after
        assert closed is not None and SOCKET_TIMEOUT - 1 <= closed <= SOCKET_TIMEOUT + 3, closed
        assert seen[name].status_line.startswith("HTTP/1.1 400"), seen[name]
    assert seen["half-close"].closed_after is not None and seen["half-close"].closed_after < 2
    assert "request headers not complete in time" in server.log()

    # Every upload that was cut off (or abandoned by its dripping client) is queued again.
    for image_id in [*drip_upload, stalled_upload]:
        status = ""
        for _ in range(50):
            status = requests.get(f"{server.url}/v2/images/{image_id}", timeout=5).json()["status"]
            if status == "queued":
                break
            time.sleep(0.1)
        assert status == "queued", image_id
    assert not [p for p in server.store_dir.rglob("*") if p.is_file()]
