"""Quotas that hold when requests race on ``imgreg-api`` with 2 worker processes.

Glance checks ``user_storage_quota`` against what is stored when an upload starts, so uploads
running side by side each see the same room and together store more than the quota. imgreg
reserves the quota in the database, under a per-owner lock, before the bytes are written:
whatever the interleaving, the bytes stored stay within the quota. The same lock makes the
per-owner image count (``image_count_quota``) exact under concurrent creates.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest
import requests

from tests.support.client import stored_files
from tests.support.server import Server

MiB = 1024 * 1024
QUOTA = 10 * MiB
IMAGE = 3 * MiB  # three fit, the fourth does not
UPLOADS = 8
MAX_IMAGES = UPLOADS
CAP = 64 * MiB


@pytest.fixture
def server_options() -> dict[str, object]:
    return {
        "user_storage_quota": f"{QUOTA // MiB}MB",
        "image_count_quota": MAX_IMAGES,
        "image_size_cap": CAP,
    }


def create(server: Server, session: requests.Session | None = None) -> requests.Response:
    return (session or requests).post(
        f"{server.url}/v2/images",
        json={"disk_format": "raw", "container_format": "bare"},
        timeout=30,
    )


def slow_body(size: int, chunk: int = 64 * 1024, pause: float = 0.005) -> Iterator[bytes]:
    """The data in small pieces with pauses, so that the uploads overlap for a while."""
    sent = 0
    while sent < size:
        piece = min(chunk, size - sent)
        yield b"q" * piece
        sent += piece
        time.sleep(pause)


def test_parallel_uploads_never_store_more_than_the_quota(server: Server) -> None:
    ids = [create(server).json()["id"] for _ in range(UPLOADS)]
    barrier = threading.Barrier(UPLOADS)
    results: dict[str, int] = {}

    def upload(index: int, image_id: str) -> None:
        headers = {"Content-Type": "application/octet-stream"}
        data: object = slow_body(IMAGE)  # chunked: reserved as it streams
        if index % 2:
            headers["Content-Length"] = str(IMAGE)  # sized: reserved whole up front
            data = b"".join(slow_body(IMAGE, pause=0))
        barrier.wait(timeout=30)
        resp = requests.put(
            f"{server.url}/v2/images/{image_id}/file", data=data, headers=headers, timeout=120
        )
        results[image_id] = resp.status_code

    threads = [threading.Thread(target=upload, args=(i, x)) for i, x in enumerate(ids)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(180)

    assert sorted(set(results.values())) in ([204], [204, 413]), results
    images = {i: requests.get(f"{server.url}/v2/images/{i}", timeout=30).json() for i in ids}
    active = [i for i in ids if images[i]["status"] == "active"]
    assert [results[i] for i in active] == [204] * len(active)
    assert 1 <= len(active) <= QUOTA // IMAGE
    assert sum(images[i]["size"] for i in active) <= QUOTA
    # every refused upload is back in queued with nothing stored for it
    assert all(images[i]["status"] == "queued" for i in ids if i not in active)
    assert len(stored_files(server.store_dir)) == len(active)
    assert sum(p.stat().st_size for p in server.store_dir.rglob("*") if p.is_file()) <= QUOTA

    # The reservations of the finished and the failed uploads are all released: once the
    # stored images are deleted, one upload of exactly the quota fits.
    for image_id in active:
        assert requests.delete(f"{server.url}/v2/images/{image_id}", timeout=30).ok
    last = next(i for i in ids if i not in active)
    resp = requests.put(
        f"{server.url}/v2/images/{last}/file",
        data=b"z" * QUOTA,
        headers={"Content-Type": "application/octet-stream"},
        timeout=60,
    )
    assert resp.status_code == 204, resp.text


def test_parallel_creates_stop_exactly_at_the_image_count_quota(server: Server) -> None:
    attempts = 2 * MAX_IMAGES
    barrier = threading.Barrier(attempts)
    statuses: list[int] = []

    def attempt() -> None:
        session = requests.Session()
        barrier.wait(timeout=30)
        statuses.append(create(server, session).status_code)

    threads = [threading.Thread(target=attempt) for _ in range(attempts)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(statuses) == [201] * MAX_IMAGES + [413] * MAX_IMAGES
    listed = requests.get(f"{server.url}/v2/images", timeout=30).json()["images"]
    assert len(listed) == MAX_IMAGES
    resp = create(server)
    assert resp.status_code == 413
    assert "image_count_total" in resp.text
    # deleting one makes room for one
    assert requests.delete(f"{server.url}/v2/images/{listed[0]['id']}", timeout=30).ok
    assert create(server).status_code == 201


def answer_without_sending_the_body(server: Server, image_id: str, length: int) -> bytes:
    """PUT the headers of an upload of ``length`` bytes and no byte of its body; return
    the server's answer (a server that waits for the body answers nothing: a timeout)."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(
            f"PUT /v2/images/{image_id}/file HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Content-Type: application/octet-stream\r\nContent-Length: {length}\r\n\r\n".encode()
        )
        answer = b""
        while b"\r\n\r\n" not in answer:
            data = sock.recv(65536)
            if not data:
                break
            answer += data
        head, _, body = answer.partition(b"\r\n\r\n")
        lengths = [ln for ln in head.lower().split(b"\r\n") if ln.startswith(b"content-length:")]
        want = int(lengths[0].split(b":")[1]) if lengths else 0
        while len(body) < want and (data := sock.recv(65536)):
            body += data
        return head + b"\r\n\r\n" + body


@pytest.mark.parametrize(
    ("length", "message"),
    [(CAP + 1, b"The incoming image is too large"), (QUOTA + 1, b"exceeds the storage quota")],
    ids=["over-the-cap", "over-the-storage-quota"],
)
def test_a_declared_size_over_the_limit_is_refused_before_the_body(
    server: Server, length: int, message: bytes
) -> None:
    image_id = create(server).json()["id"]
    answer = answer_without_sending_the_body(server, image_id, length)
    assert answer.startswith(b"HTTP/1.1 413 "), answer
    assert message in answer
    image = requests.get(f"{server.url}/v2/images/{image_id}", timeout=30).json()
    assert image["status"] == "queued"
    assert stored_files(server.store_dir) == []
    resp = requests.put(
        f"{server.url}/v2/images/{image_id}/file",
        data=b"x" * 1024,
        headers={"Content-Type": "application/octet-stream"},
        timeout=60,
    )
    assert resp.status_code == 204, resp.text
