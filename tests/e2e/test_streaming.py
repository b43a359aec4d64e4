"""Request bodies through gunicorn: ``Expect: 100-continue``, chunked uploads, clients that
vanish mid-body, and two uploads racing for one image."""

from __future__ import annotations

import hashlib
import http.client
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests

from tests.support.client import stored_files

MiB = 1 << 20
BLOCK = os.urandom(MiB)
DATA = BLOCK * 4 + b"tail"


def create(server) -> str:
    resp = requests.post(
        f"{server.url}/v2/images",
        json={"disk_format": "raw", "container_format": "bare"},
        timeout=10,
    )
    assert resp.status_code == 201, resp.text
    return resp.json()["id"]


def show(server, image_id: str) -> dict[str, Any]:
    resp = requests.get(f"{server.url}/v2/images/{image_id}", timeout=10)
    assert resp.status_code == 200, resp.text
    return resp.json()


def wait_for(predicate: Callable[[], Any], what: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.05)


def connect(server) -> socket.socket:
    return socket.create_connection(("127.0.0.1", server.port), timeout=30)


def request_head(server, image_id: str, *headers: str) -> bytes:
    lines = [
        f"PUT /v2/images/{image_id}/file HTTP/1.1",
        f"Host: 127.0.0.1:{server.port}",
        "Content-Type: application/octet-stream",
        *headers,
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def chunk(data: bytes) -> bytes:
    return f"{len(data):x}\r\n".encode() + data + b"\r\n"


def response(sock: socket.socket) -> tuple[int, bytes]:
    resp = http.client.HTTPResponse(sock)
    resp.begin()
    return resp.status, resp.read()


def put(server, image_id: str, body: Any, **headers: str) -> requests.Response:
    return requests.put(
        f"{server.url}/v2/images/{image_id}/file",
        data=body,
        headers={"Content-Type": "application/octet-stream", **headers},
        timeout=60,
    )


def assert_active_with(server, image_id: str, data: bytes) -> None:
    shown = show(server, image_id)
    assert shown["status"] == "active"
    assert shown["size"] == len(data)
    assert shown["checksum"] == hashlib.md5(data).hexdigest()
    assert shown["os_hash_value"] == hashlib.sha512(data).hexdigest()
    assert stored_files(server.store_dir) == [image_id]
    download = requests.get(f"{server.url}/v2/images/{image_id}/file", timeout=60)
    assert download.status_code == 200
    assert download.content == data


def assert_queued_and_clean(server, image_id: str) -> None:
    shown = show(server, image_id)
    assert shown["status"] == "queued"
    assert (shown["size"], shown["checksum"], shown["os_hash_value"]) == (None, None, None)
    assert shown["os_hash_algo"] is None
    resp = requests.get(f"{server.url}/v2/images/{image_id}/file", timeout=10)
    assert resp.status_code == 204
    assert resp.content == b""
    assert stored_files(server.store_dir) == []


def partial_files(server) -> list[str]:
    return [name for name in stored_files(server.store_dir) if name.startswith(".partial/")]


@pytest.mark.e2e
def test_expect_100_continue_is_answered_before_the_body(server):
    image_id = create(server)
    with connect(server) as sock:
        sock.sendall(
            request_head(server, image_id, f"Content-Length: {len(DATA)}", "Expect: 100-continue")
        )
        interim = b""
        while b"\r\n\r\n" not in interim:
            data = sock.recv(1024)
            assert data, f"connection closed after {interim!r}"
            interim += data
        assert interim == b"HTTP/1.1 100 Continue\r\n\r\n"
        sock.sendall(DATA)
        status, body = response(sock)
    assert (status, body) == (204, b"")
    assert_active_with(server, image_id, DATA)


@pytest.mark.e2e
def test_chunked_upload_in_1_mib_chunks(server):
    image_id = create(server)
    sent: list[int] = []

    def body() -> Iterator[bytes]:
        for piece in (BLOCK, BLOCK, BLOCK, BLOCK, b"tail"):
            sent.append(len(piece))
            yield piece

    resp = put(server, image_id, body())
    assert resp.status_code == 204, resp.text
    assert resp.request.headers["Transfer-Encoding"] == "chunked"
    assert "Content-Length" not in resp.request.headers
    assert sent == [MiB] * 4 + [4]
    assert_active_with(server, image_id, DATA)


@pytest.mark.e2e
@pytest.mark.parametrize("framing", ["chunked", "sized"])
def test_client_disconnect_mid_body_leaves_the_image_queued_and_no_data(server, framing):
    image_id = create(server)
    with connect(server) as sock:
        if framing == "chunked":
            sock.sendall(request_head(server, image_id, "Transfer-Encoding: chunked"))
            sock.sendall(chunk(BLOCK))
        else:
            sock.sendall(request_head(server, image_id, f"Content-Length: {16 * MiB}"))
            sock.sendall(BLOCK)
        # the upload is under way: the image is saving and a partial file is being written
        wait_for(lambda: show(server, image_id)["status"] == "saving", "status saving")
        wait_for(lambda: partial_files(server), "a partial file in the store")
        for _ in range(3):
            sock.sendall(chunk(BLOCK) if framing == "chunked" else BLOCK)
    # closed mid-body: the server sees EOF, rolls back and removes the partial file
    wait_for(lambda: show(server, image_id)["status"] == "queued", "status back to queued")
    wait_for(lambda: stored_files(server.store_dir) == [], "an empty store")
    assert_queued_and_clean(server, image_id)
    assert (server.store_dir / ".partial").is_dir()

    resp = put(server, image_id, DATA)
    assert resp.status_code == 204, resp.text
    assert_active_with(server, image_id, DATA)


@pytest.mark.e2e
def test_second_concurrent_upload_is_409_and_the_first_completes(server):
    image_id = create(server)
    release = threading.Event()
    first: dict[str, Any] = {}

    def slow_body() -> Iterator[bytes]:
        yield BLOCK
        assert release.wait(30)
        yield BLOCK
        yield b"tail"

    def upload() -> None:
        first["response"] = put(server, image_id, slow_body())

    thread = threading.Thread(target=upload)
    thread.start()
    try:
        wait_for(lambda: show(server, image_id)["status"] == "saving", "the first upload")
        second = put(server, image_id, b"other data")
        assert second.status_code == 409
        assert "Image status transition from saving to saving is not allowed" in second.text
        assert show(server, image_id)["status"] == "saving"
    finally:
        release.set()
        thread.join(60)
    assert first["response"].status_code == 204, first["response"].text
    assert_active_with(server, image_id, BLOCK * 2 + b"tail")


@pytest.mark.e2e
def test_simultaneous_uploads_have_exactly_one_winner(server):
    """Released together by a barrier, over and over: one 204, one 409, one blob."""

    def upload(image_id: str, body: bytes, barrier: threading.Barrier, out: list[int]) -> None:
        barrier.wait(10)
        out.append(put(server, image_id, body).status_code)

    bodies = [BLOCK, BLOCK[::-1]]
    for _ in range(10):
        image_id = create(server)
        barrier = threading.Barrier(2)
        statuses: list[int] = []
        threads = [
            threading.Thread(target=upload, args=(image_id, body, barrier, statuses))
            for body in bodies
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert sorted(statuses) == [204, 409]
        shown = show(server, image_id)
        assert shown["status"] == "active"
        assert shown["os_hash_value"] in {hashlib.sha512(body).hexdigest() for body in bodies}
        stored = (server.store_dir / image_id).read_bytes()
        assert hashlib.sha512(stored).hexdigest() == shown["os_hash_value"]
        assert partial_files(server) == []


@pytest.mark.e2e
def test_delete_during_upload_is_410_and_removes_the_data(server):
    image_id = create(server)
    with connect(server) as sock:
        sock.sendall(request_head(server, image_id, "Transfer-Encoding: chunked"))
        sock.sendall(chunk(BLOCK))
        wait_for(lambda: partial_files(server), "a partial file in the store")
        deleted = requests.delete(f"{server.url}/v2/images/{image_id}", timeout=10)
        assert deleted.status_code == 204
        sock.sendall(chunk(BLOCK) + chunk(b"tail") + b"0\r\n\r\n")
        status, body = response(sock)
    assert status == 410
    assert f"Image {image_id} could not be found after upload.".encode() in body
    assert requests.get(f"{server.url}/v2/images/{image_id}", timeout=10).status_code == 404
    assert stored_files(server.store_dir) == []
