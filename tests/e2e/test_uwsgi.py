"""imgreg served by a real uWSGI with the shipped ``etc/imgreg-uwsgi.ini`` (only its socket and
configuration file changed): chunked and sized uploads stream through ``uwsgi.chunked_read``,
a bad or broken upload is a 4xx that leaves no data, and small requests are answered while a
slow upload is in flight."""

from __future__ import annotations

import hashlib
import os
import signal
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.support.server import CHUNK_LIMIT, Server, start_uwsgi, stop

# tools/test's first pass only: uWSGI's input handling is the server's; what a broken upload leaves
# in the database is tested on every engine by test_streaming.py and test_crash.py
pytestmark = [pytest.mark.e2e, pytest.mark.first_pass]


@pytest.fixture
def server_options() -> dict[str, object]:
    """More ``write_config`` options for ``server``; a test overrides it by parametrizing."""
    return {}


@pytest.fixture
def server(tmp_path: Path, clean_db: str, server_options: dict[str, object]) -> Iterator[Server]:
    srv = start_uwsgi(tmp_path, clean_db, server_options)
    try:
        yield srv
    finally:
        stop(srv)


def create(server: Server, **extra: object) -> str:
    body = {"name": "u", "disk_format": "raw", "container_format": "bare", **extra}
    resp = requests.post(f"{server.url}/v2/images", json=body, timeout=10)
    assert resp.status_code == 201, resp.text
    return str(resp.json()["id"])


def image(server: Server, image_id: str) -> dict[str, object]:
    resp = requests.get(f"{server.url}/v2/images/{image_id}", timeout=10)
    assert resp.status_code == 200, resp.text
    return dict(resp.json())


def blobs(server: Server) -> list[Path]:
    return [p for p in server.store_dir.rglob("*") if p.is_file()]


def chunks(sizes: list[int]) -> Iterator[bytes]:
    for n, size in enumerate(sizes):
        yield bytes([n % 251]) * size


def test_a_chunked_upload_streams_through_and_downloads_byte_identical(server: Server) -> None:
    sizes = [1 << 20, 1, 65536, 3 << 20, 12345, 1 << 20]  # glanceclient's 1 MiB and odd ones
    data = b"".join(chunks(sizes))
    image_id = create(server)
    resp = requests.put(
        f"{server.url}/v2/images/{image_id}/file",
        data=chunks(sizes),  # a generator: requests sends Transfer-Encoding: chunked
        headers={"Content-Type": "application/octet-stream"},
        timeout=30,
    )
    assert resp.status_code == 204, resp.text
    shown = image(server, image_id)
    assert shown["status"] == "active"
    assert shown["size"] == len(data)
    assert shown["checksum"] == hashlib.md5(data).hexdigest()
    assert shown["os_hash_value"] == hashlib.sha512(data).hexdigest()
    got = requests.get(f"{server.url}/v2/images/{image_id}/file", timeout=30)
    assert got.status_code == 200 and got.content == data
    assert got.headers["Content-MD5"] == hashlib.md5(data).hexdigest()
    ranged = requests.get(
        f"{server.url}/v2/images/{image_id}/file", headers={"Range": "bytes=5-9"}, timeout=10
    )
    assert ranged.status_code == 206 and ranged.content == data[5:10]


def test_a_sized_upload_and_a_chunked_json_body(server: Server) -> None:
    image_id = create(server)
    data = os.urandom(3 << 20)
    resp = requests.put(
        f"{server.url}/v2/images/{image_id}/file",
        data=data,
        headers={"Content-Type": "application/octet-stream"},
        timeout=30,
    )
    assert resp.status_code == 204, resp.text
    assert image(server, image_id)["os_hash_value"] == hashlib.sha512(data).hexdigest()
    patch = b'[{"op": "replace", "path": "/name", "value": "chunked json"}]'
    resp = requests.patch(
        f"{server.url}/v2/images/{image_id}",
        data=iter([patch[:7], patch[7:]]),
        headers={"Content-Type": "application/openstack-images-v2.1-json-patch"},
        timeout=10,
    )
    assert resp.status_code == 200, resp.text
    assert resp.json()["name"] == "chunked json"


def test_a_chunk_over_the_limit_is_a_4xx_and_leaves_nothing(server: Server) -> None:
    image_id = create(server)
    try:
        resp = requests.put(
            f"{server.url}/v2/images/{image_id}/file",
            data=chunks([1 << 20, CHUNK_LIMIT + 1]),
            headers={"Content-Type": "application/octet-stream"},
            timeout=60,
        )
    except requests.ConnectionError:  # the 400 came (and the socket closed) mid-send
        pass
    else:
        assert resp.status_code == 400, resp.text
        assert "interrupted" in resp.text
    deadline = time.monotonic() + 10
    while image(server, image_id)["status"] != "queued" and time.monotonic() < deadline:
        time.sleep(0.05)
    assert image(server, image_id)["status"] == "queued"
    assert "upload body could not be read: unable to receive chunked part" in server.log()
    assert blobs(server) == []
    retry = requests.put(
        f"{server.url}/v2/images/{image_id}/file",
        data=chunks([1 << 20]),
        headers={"Content-Type": "application/octet-stream"},
        timeout=30,
    )
    assert retry.status_code == 204, retry.text


def test_a_client_gone_mid_upload_leaves_the_image_queued_and_no_blob(server: Server) -> None:
    image_id = create(server)
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(
            f"PUT /v2/images/{image_id}/file HTTP/1.1\r\nHost: x\r\n"
            "Content-Type: application/octet-stream\r\nTransfer-Encoding: chunked\r\n\r\n".encode()
        )
        for _ in range(3):
            sock.sendall(b"100000\r\n" + b"z" * (1 << 20) + b"\r\n")
        sock.sendall(b"100000\r\n" + b"z" * 1000)  # then the client dies mid-chunk
    deadline = time.monotonic() + 20
    while image(server, image_id)["status"] != "queued" and time.monotonic() < deadline:
        time.sleep(0.1)
    assert image(server, image_id)["status"] == "queued"
    assert blobs(server) == []
    assert "Traceback" not in server.log()


@pytest.mark.parametrize("server_options", [{"client_socket_timeout": 2}])
def test_a_client_that_stalls_mid_chunk_gets_400_and_leaves_no_blob(server: Server) -> None:
    """``client_socket_timeout`` bounds the wait for each piece of a chunked body: a client
    that goes silent mid-chunk but keeps its connection open is answered 400, the image is
    queued again and no partial data stays behind."""
    image_id = create(server)
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
        sock.sendall(
            f"PUT /v2/images/{image_id}/file HTTP/1.1\r\nHost: x\r\n"
            "Content-Type: application/octet-stream\r\nTransfer-Encoding: chunked\r\n\r\n".encode()
        )
        sock.sendall(b"100000\r\n" + b"z" * (1 << 20) + b"\r\n")
        sock.sendall(b"100000\r\n" + b"z" * 1000)  # then silence, the connection kept open
        started = time.monotonic()
        answer = b""
        while b"\r\n\r\n" not in answer and (piece := sock.recv(65536)):
            answer += piece
        waited = time.monotonic() - started
    status_line = answer.split(b"\r\n", 1)[0]
    assert status_line.startswith(b"HTTP/1.1 400"), answer[:300]
    assert 1.5 <= waited < 20, waited
    assert image(server, image_id)["status"] == "queued"
    assert blobs(server) == []
    assert "Traceback" not in server.log()


def test_small_requests_are_answered_while_a_slow_upload_is_in_flight(server: Server) -> None:
    image_id = create(server)

    def trickle() -> Iterator[bytes]:
        for _ in range(20):
            yield b"s" * 65536
            time.sleep(0.1)

    upload: list[requests.Response] = []
    thread = threading.Thread(
        target=lambda: upload.append(
            requests.put(
                f"{server.url}/v2/images/{image_id}/file",
                data=trickle(),
                headers={"Content-Type": "application/octet-stream"},
                timeout=60,
            )
        )
    )
    thread.start()
    answered = 0
    deadline = time.monotonic() + 30
    while thread.is_alive() and time.monotonic() < deadline:
        assert requests.get(f"{server.url}/v2/images/{image_id}", timeout=10).status_code == 200
        answered += 1
        time.sleep(0.05)
    thread.join(timeout=30)
    assert upload and upload[0].status_code == 204, upload and upload[0].text
    assert answered >= 10  # the upload takes 2 s
    assert image(server, image_id)["size"] == 20 * 65536


def test_sigterm_stops_master_and_workers(server: Server) -> None:
    workers = server.workers()
    assert workers
    server.process.send_signal(signal.SIGTERM)
    assert server.process.wait(timeout=15) is not None
    for pid in workers:
        assert not Path(f"/proc/{pid}").exists() or "Z" in Path(f"/proc/{pid}/stat").read_text()
