"""Request heads read on the worker's main loop (``imgreg.server.heads``), seen from a client:
HTTP/1.1 still works as gunicorn serves it (pipelining, keep-alive, heads split in many
pieces, gunicorn's limits and answers), and connections whose head is not complete, or
whose body stalls, hold no request slot and are closed on time.

Loopback only, raw sockets with timeouts; every wait is bounded.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import socket
import threading
import time
from pathlib import Path

import pytest
import requests

from tests.support.server import Server

# tools/test's first pass only (SQLite, ``first_pass``): request heads are the server's, read before
# any database call
pytestmark = [pytest.mark.e2e, pytest.mark.first_pass]

HEADER_TIMEOUT = 2
BODY_TIMEOUT = 2
MAX_HEADER_LINE = 256
MAX_HEADER_COUNT = 10


@pytest.fixture
def server_options() -> dict[str, object]:
    return {
        "client_header_timeout": HEADER_TIMEOUT,
        "client_body_timeout": BODY_TIMEOUT,
        "max_header_line": MAX_HEADER_LINE,
        "max_header_count": MAX_HEADER_COUNT,
    }


def connect(server: Server) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def get(path: str = "/versions", *headers: str) -> bytes:
    return "\r\n".join([f"GET {path} HTTP/1.1", "Host: 127.0.0.1", *headers, "", ""]).encode()


def read_response(sock: socket.socket) -> http.client.HTTPResponse:
    resp = http.client.HTTPResponse(sock)
    resp.begin()
    resp.read()
    return resp


def closed_within(sock: socket.socket, seconds: float) -> float | None:
    """Seconds until the server closed ``sock`` without answering, or None."""
    started = time.monotonic()
    sock.settimeout(seconds)
    try:
        data = sock.recv(100)
    except TimeoutError:
        return None
    except ConnectionResetError:
        data = b""
    assert data == b"", data
    return time.monotonic() - started


def test_pipelined_requests_are_answered_in_order(server: Server) -> None:
    with connect(server) as sock:
        sock.sendall(get("/versions") + get("/v2/images") + get("/healthcheck"))
        statuses = [read_response(sock).status for _ in range(3)]
        sock.sendall(get("/versions"))  # and the connection is still kept alive
        statuses.append(read_response(sock).status)
    assert statuses == [200, 200, 200, 200]


def test_a_head_sent_a_byte_at_a_time_is_served(server: Server) -> None:
    with connect(server) as sock:
        for byte in get("/v2/images", "X-Split: " + "y" * 40):
            sock.send(bytes([byte]))
            time.sleep(0.002)
        assert read_response(sock).status == 200


def test_keep_alive_serves_many_requests_on_one_connection(server: Server) -> None:
    with connect(server) as sock:
        for _ in range(20):
            sock.sendall(get())
            resp = read_response(sock)
            assert resp.status == 200
            assert resp.getheader("Connection", "").lower() != "close"


@pytest.mark.parametrize(
    ("head", "status"),
    [
        (get("/" + "a" * 9000), 414),  # the request line, complete
        (b"GET /" + b"a" * 9000, 414),  # the request line, still coming
        (get("/versions", "X-Long: " + "b" * MAX_HEADER_LINE), 431),
        (get("/versions", *[f"X-{i}: c" for i in range(MAX_HEADER_COUNT + 1)]), 431),
        # header bytes past what gunicorn buffers, with no end in sight
        (get("/versions").rstrip(b"\r\n") + b"\r\n" + b"X-More: d\r\n" * 400, 431),
        (b"GET /versions HTTP/1.1\nHost: x\n\n", 400),  # bare LF
    ],
)
def test_limits_are_answered_as_gunicorn_does(server: Server, head: bytes, status: int) -> None:
    with connect(server) as sock:
        sock.sendall(head)
        assert read_response(sock).status == status


def test_expect_100_continue_and_chunked_upload(server: Server) -> None:
    resp = requests.post(
        f"{server.url}/v2/images",
        json={"disk_format": "raw", "container_format": "bare"},
        timeout=10,
    )
    image_id = resp.json()["id"]
    with connect(server) as sock:
        sock.sendall(
            f"PUT /v2/images/{image_id}/file HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
            "Content-Type: application/octet-stream\r\nTransfer-Encoding: chunked\r\n\r\n".encode()
        )
        assert sock.recv(100).startswith(b"HTTP/1.1 100 Continue\r\n\r\n")
        sock.sendall(b"4\r\nabcd\r\n3\r\nefg\r\n0\r\n\r\n")
        assert read_response(sock).status == 204
    image = requests.get(f"{server.url}/v2/images/{image_id}", timeout=10).json()
    assert (image["status"], image["size"]) == ("active", 7)


def socket_fds(server: Server) -> int:
    count = 0
    for pid in server.workers():
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            with contextlib.suppress(OSError):
                count += os.readlink(fd).startswith("socket:")
    return count


def test_clients_that_leave_mid_head_are_forgotten(server: Server) -> None:
    before = socket_fds(server)
    socks = [connect(server) for _ in range(40)]
    for sock in socks:
        sock.sendall(b"GET /versions HTTP/1.1\r\nHost: x\r\nX-Half: ")
    time.sleep(0.5)
    assert socket_fds(server) >= before + 40
    for sock in socks:
        sock.close()
    deadline = time.monotonic() + 5
    while socket_fds(server) > before + 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert socket_fds(server) <= before + 2
    assert requests.get(f"{server.url}/versions", timeout=5).status_code == 200


def test_silent_and_dripping_connections_hold_no_thread_and_are_closed(server: Server) -> None:
    """40 connections that send nothing and 20 that drip: more than the 16 threads of the
    two workers, yet a request gets its answer at once; each is closed, unanswered, after
    client_header_timeout."""
    silent = [connect(server) for _ in range(40)]
    drippers = [connect(server) for _ in range(20)]
    stop = threading.Event()

    def drip() -> None:
        for byte in get("/versions", "X-Drip: " + "e" * 200):
            if stop.wait(0.2):
                return
            for sock in drippers:
                sock.send(bytes([byte]))

    threading.Thread(target=drip, daemon=True).start()
    time.sleep(0.3)
    started = time.monotonic()
    assert requests.get(f"{server.url}/versions", timeout=1).status_code == 200
    assert time.monotonic() - started < 0.5
    closed = [closed_within(sock, HEADER_TIMEOUT + 3) for sock in silent + drippers]
    stop.set()
    assert all(c is not None for c in closed), closed
    assert "request headers not complete in time" in server.log()


def test_a_stalled_body_is_cut_after_client_body_timeout(server: Server) -> None:
    """client_socket_timeout stays at its 900 s default; the body's silence is cut after
    client_body_timeout, with 400, and the upload rolled back."""
    image_id = requests.post(
        f"{server.url}/v2/images",
        json={"disk_format": "raw", "container_format": "bare"},
        timeout=10,
    ).json()["id"]
    with connect(server) as sock:
        started = time.monotonic()
        sock.sendall(
            f"PUT /v2/images/{image_id}/file HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n"
            "Content-Type: application/octet-stream\r\n\r\n".encode()
            + b"f" * 100
        )
        sock.settimeout(BODY_TIMEOUT + 5)
        assert read_response(sock).status == 400
        assert BODY_TIMEOUT - 0.5 < time.monotonic() - started < BODY_TIMEOUT + 3
    image = requests.get(f"{server.url}/v2/images/{image_id}", timeout=10).json()
    assert image["status"] == "queued"
