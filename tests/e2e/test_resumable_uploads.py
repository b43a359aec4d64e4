"""Resumable uploads with the real ``tuspy`` client, and with ``curl`` following the IETF draft,
against ``imgreg-api`` processes (issue 21):
an upload cut at about half (the client process SIGKILLed; the worker serving a chunk
SIGKILLed, the rest sent to another server on the same database and spool directory, as
behind a balancer) is resumed, sends only the remainder plus at most one chunk (counted by
the servers' own log of received bytes), and the image ends active with the file's md5 and
sha512. First pass only: what the database does in a resumable upload (the final upload, the
image's status) is covered in every pass by tests/functional/test_resumable_upload.py."""

from __future__ import annotations

import hashlib
import io
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
import requests
from tusclient import client as tus_client
from tusclient.exceptions import TusCommunicationError, TusUploadFailed
from tusclient.storage.filestorage import FileStorage

from tests.support.server import Server, manage, start_api, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.first_pass]

MiB = 1 << 20
SIZE = int(os.environ.get("IMGREG_TUS_TEST_MIB", "64")) * MiB  # 2048 for the manual run
CHUNK = 8 * MiB
IDENTITY = {
    "X-Identity-Status": "Confirmed",
    "X-Project-Id": "p1",
    "X-User-Id": "u1",
    "X-Roles": "member,reader",
}
RECEIVED = re.compile(r"resumable upload [0-9a-f]{32}: (\d+) bytes received")

CLIENT = """
import sys
import time
from tusclient import client
from tusclient.storage.filestorage import FileStorage
url, path, storage, chunk = sys.argv[1:5]
headers = dict(h.split("=", 1) for h in sys.argv[5:])
uploader = client.TusClient(url, headers=headers).uploader(
    path, chunk_size=int(chunk), store_url=True, url_storage=FileStorage(storage)
)
while uploader.offset < uploader.get_file_size():
    uploader.upload_chunk()
    print(uploader.offset, flush=True)
"""


@pytest.fixture
def data(tmp_path: Path) -> tuple[Path, str, str]:
    path = tmp_path / "disk.raw"
    md5, sha512 = hashlib.md5(), hashlib.sha512()
    with path.open("wb") as out:
        for _ in range(SIZE // MiB):
            block = os.urandom(MiB)
            md5.update(block)
            sha512.update(block)
            out.write(block)
    return path, md5.hexdigest(), sha512.hexdigest()


def launch(
    tmp_path: Path, db_url: str, env: dict[str, str] | None = None, **more: object
) -> Server:
    """A server on the test's database, store and spool directory (each one of the test
    shares them: the nodes of a cluster)."""
    options = {"resumable_upload_dir": tmp_path / "tus", "upload_lease_seconds": 2, **more}
    return start_api(tmp_path, db_url, options, env=env, new_session=True)


def new_image(server: Server) -> str:
    resp = requests.post(
        f"{server.url}/v2/images",
        json={"disk_format": "raw", "container_format": "bare"},
        headers=IDENTITY,
        timeout=10,
    )
    assert resp.status_code == 201, resp.text
    return str(resp.json()["id"])


def received(server: Server) -> int:
    """The bytes of chunks this server received, kept or not (its own log)."""
    return sum(int(n) for n in RECEIVED.findall(server.log()))


def durable_offset(server: Server, url: str) -> int:
    resp = requests.head(url, headers={**IDENTITY, "Tus-Resumable": "1.0.0"}, timeout=10)
    assert resp.status_code == 200, resp.text
    return int(resp.headers["Upload-Offset"])


def half_closed(server: Server) -> bool:
    """Whether a connection whose client went away is still in the server's hands: its side
    stays half-closed (CLOSE_WAIT) until it has kept what came and answered."""
    return any(
        conn.status == psutil.CONN_CLOSE_WAIT and conn.laddr and conn.laddr.port == server.port
        for conn in psutil.net_connections("tcp")
    )


def check_active(server: Server, image_id: str, md5: str, sha512: str) -> None:
    shown = requests.get(f"{server.url}/v2/images/{image_id}", headers=IDENTITY, timeout=10)
    image = shown.json()
    assert (image["status"], image["size"]) == ("active", SIZE)
    assert (image["checksum"], image["os_hash_value"]) == (md5, sha512)


def test_client_killed_at_half_resumes_with_the_remainder(tmp_path, clean_db, data, servers):
    path, md5, sha512 = data
    server = launch(tmp_path, clean_db)
    servers.append(server)
    image_id = new_image(server)
    file_url = f"{server.url}/v2/images/{image_id}/file"
    storage = tmp_path / "tuspy-urls.json"
    headers = [f"{k}={v}" for k, v in IDENTITY.items()]
    process = subprocess.Popen(
        [sys.executable, "-c", CLIENT, file_url, str(path), str(storage), str(CHUNK), *headers],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        for line in process.stdout:  # the offsets it reached; cut at half, mid next chunk
            if int(line) >= SIZE // 2:
                break
        process.send_signal(signal.SIGKILL)
    finally:
        process.kill()
        process.wait()
    # the chunk the kill cut may still be on its way in: resumed before the server is done
    # with it, the new client reads an offset that chunk then moves (a 409 once in CI)
    wait_for(lambda: not half_closed(server), "the server to be done with the cut chunk", 30)
    assert show_status(server, image_id) == "queued"
    # a new client process finds its upload in its URL storage, asks the offset, goes on
    uploader = tus_client.TusClient(file_url, headers=IDENTITY).uploader(
        str(path), chunk_size=CHUNK, store_url=True, url_storage=FileStorage(str(storage))
    )
    assert uploader.url is not None
    durable = durable_offset(server, uploader.url)
    # counted once the offset is read: the server logs the bytes of the chunk the kill cut
    # before it moves the offset past them (counted earlier, CI once saw them in the rest)
    before = received(server)
    assert SIZE // 2 <= durable < SIZE
    assert uploader.offset == durable
    uploader.upload()
    check_active(server, image_id, md5, sha512)
    assert received(server) - before == SIZE - durable  # the rest, not one byte more
    assert received(server) <= SIZE + CHUNK  # the chunk the kill cut, at most
    assert "Traceback" not in server.log()


def test_worker_killed_mid_chunk_resumes_on_another_node(tmp_path, clean_db, data, servers):
    path, md5, sha512 = data
    first = launch(tmp_path, clean_db, env={"IMGREG_FAULT": "resumable_mid_chunk"})
    servers.append(first)
    other = launch(tmp_path, clean_db)
    servers.append(other)
    image_id = new_image(first)
    uploader = tus_client.TusClient(
        f"{first.url}/v2/images/{image_id}/file", headers=IDENTITY
    ).uploader(str(path), chunk_size=CHUNK, upload_checksum=True)
    with pytest.raises((TusCommunicationError, TusUploadFailed, requests.RequestException)):
        uploader.upload()  # the worker SIGKILLs itself in the chunk at half
    assert uploader.url is not None
    moved = uploader.url.replace(first.url, other.url)
    durable = durable_offset(other, moved)
    assert durable == SIZE // 2  # what was fsynced and counted; the cut chunk is not
    resumed = tus_client.TusClient(moved, headers=IDENTITY).uploader(
        str(path), url=moved, chunk_size=CHUNK, upload_checksum=True
    )
    assert resumed.offset == durable
    resumed.upload()
    check_active(other, image_id, md5, sha512)
    assert received(other) == SIZE - durable
    assert received(first) <= durable + CHUNK
    assert "Traceback" not in other.log()


def show_status(server: Server, image_id: str) -> str:
    return str(
        requests.get(f"{server.url}/v2/images/{image_id}", headers=IDENTITY, timeout=10).json()[
            "status"
        ]
    )


def test_abandoned_and_killed_sessions_are_reaped_with_their_quota(tmp_path, clean_db, servers):
    """One session abandoned by its client, one whose worker was SIGKILLed in a chunk: each
    holds its length of the storage quota until it expires; then the reaper (``imgreg-manage
    scrub``) deletes both with their bytes and releases what they held, and the invariant
    check is clean."""
    options = {
        "user_storage_quota": "8MB",
        "resumable_upload_expiry": 1,
        "upload_reaper_interval": 0,
    }
    env = {"IMGREG_FAULT": "resumable_mid_chunk"}  # in a chunk that starts at half or past it
    server = launch(tmp_path, clean_db, env=env, **options)
    servers.append(server)
    abandoned, killed, later = new_image(server), new_image(server), new_image(server)
    uploader = tus_client.TusClient(
        f"{server.url}/v2/images/{abandoned}/file", headers=IDENTITY
    ).uploader(file_stream=io.BytesIO(os.urandom(3 * MiB)), chunk_size=MiB)
    uploader.upload(stop_at=MiB)  # then the client goes away for good
    assert uploader.url is not None
    cut = tus_client.TusClient(f"{server.url}/v2/images/{killed}/file", headers=IDENTITY)
    dying = cut.uploader(file_stream=io.BytesIO(os.urandom(4 * MiB)), chunk_size=MiB)
    with pytest.raises((TusCommunicationError, TusUploadFailed, requests.RequestException)):
        dying.upload()  # the worker SIGKILLs itself in the chunk at half
    assert len(os.listdir(tmp_path / "tus")) == 6
    create = {**IDENTITY, "Tus-Resumable": "1.0.0", "Upload-Length": str(2 * MiB)}
    later_url = f"{server.url}/v2/images/{later}/file"
    held = requests.post(later_url, headers=create, timeout=10)
    assert held.status_code == 413, held.text  # 3 + 4 of the 8 MiB held by the two sessions
    time.sleep(3.1)  # past their expiry (and the holds' 2 s margin, imgreg.db.session_holds)
    scrub = manage(server, "scrub")
    assert scrub.returncode == 0, scrub.stderr
    assert "2 expired resumable upload(s) removed" in scrub.stdout
    assert "2 expired session hold(s) released" in scrub.stdout
    assert os.listdir(tmp_path / "tus") == []
    check = manage(server, "check")
    assert (check.returncode, check.stdout.strip()) == (0, "check: ok"), check.stdout
    gone = requests.head(uploader.url, headers={**IDENTITY, "Tus-Resumable": "1.0.0"}, timeout=10)
    assert gone.status_code == 404
    assert show_status(server, abandoned) == show_status(server, killed) == "queued"
    usage = requests.get(f"{server.url}/v2/info/usage", headers=IDENTITY, timeout=10).json()
    assert usage["usage"]["image_size_total"]["usage"] == 0
    assert requests.post(later_url, headers=create, timeout=10).status_code == 201


def curl(*args: str) -> subprocess.CompletedProcess[str]:
    identity = [arg for k, v in IDENTITY.items() for arg in ("-H", f"{k}: {v}")]
    return subprocess.run(
        ["curl", "-sS", "-D", "-", "-o", "/dev/null", *identity, *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )


def final_status(response: str) -> str:
    """The status of the final response (after any ``100 Continue``)."""
    return re.findall(r"^HTTP/\S+ (\d{3})", response, re.MULTILINE)[-1]


def header(response: str, name: str) -> str:
    found = re.search(rf"^{name}: *(.*?)\r?$", response, re.MULTILINE | re.IGNORECASE)
    assert found is not None, response
    return found.group(1)


def send_the_rest(url: str, offset: int, rest: Path) -> None:
    """The draft's last PATCH with curl: the file ``rest`` from ``offset``, completing."""
    done = curl(
        "-X", "PATCH", "-H", "Content-Type: application/partial-upload",
        "-H", f"Upload-Offset: {offset}", "-H", "Upload-Complete: ?1",
        "-T", str(rest), url,
    ).stdout  # fmt: skip
    assert final_status(done) == "204", done


def test_curl_following_the_ietf_draft_resumes_after_being_killed(
    tmp_path, clean_db, data, servers
):
    path, md5, sha512 = data
    server = launch(tmp_path, clean_db)
    servers.append(server)
    image_id = new_image(server)
    created = curl(
        "-X", "POST", "-H", "Upload-Complete: ?0", "-H", f"Upload-Length: {SIZE}",
        f"{server.url}/v2/images/{image_id}/file",
    ).stdout  # fmt: skip
    assert final_status(created) == "201", created
    url = header(created, "Location")
    identity = [arg for k, v in IDENTITY.items() for arg in ("-H", f"{k}: {v}")]
    process = subprocess.Popen(
        ["curl", "-sS", "-o", "/dev/null", "--limit-rate", "24M", "-X", "PATCH", *identity,
         "-H", "Content-Type: application/partial-upload", "-H", "Upload-Offset: 0",
         "-H", "Upload-Complete: ?1", "-T", str(path), url],
    )  # fmt: skip
    try:
        spooled = tmp_path / "tus" / f"{url.rsplit('/', 1)[1]}.data"
        wait_for(lambda: spooled.stat().st_size >= SIZE // 2 or process.poll(), "half", 120)
        assert process.poll() is None, "curl ended before half of the data was sent"
    finally:
        process.kill()
        process.wait()
    wait_for(lambda: RECEIVED.search(server.log()), "the server to keep the cut chunk")
    durable = int(header(curl("-I", url).stdout, "Upload-Offset"))
    assert SIZE // 2 <= durable < SIZE
    rest = tmp_path / "rest"
    with path.open("rb") as whole, rest.open("wb") as out:
        whole.seek(durable)
        shutil.copyfileobj(whole, out)
    send_the_rest(url, durable, rest)
    check_active(server, image_id, md5, sha512)
    assert received(server) == SIZE  # the first part once, the rest once: nothing twice
    assert "Traceback" not in server.log()


def raw_creation(server: Server, image_id: str, length: int, interop: bool) -> socket.socket:
    """A creation-with-upload POST of the IETF draft, its head sent and its body not yet."""
    host, port = server.url.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=30)
    lines = [
        f"POST /v2/images/{image_id}/file HTTP/1.1",
        f"Host: {host}:{port}",
        "Content-Type: application/octet-stream",
        f"Content-Length: {length}",
        f"Upload-Length: {length}",
        "Upload-Complete: ?1",
        *(f"{name}: {value}" for name, value in IDENTITY.items()),
        *(["Upload-Draft-Interop-Version: 6"] if interop else []),
    ]
    sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
    return sock


def read_head(sock: socket.socket) -> str:
    """One response head (an interim one or the final one), read byte by byte."""
    head = b""
    while not head.endswith(b"\r\n\r\n"):
        byte = sock.recv(1)
        assert byte, f"connection closed after {head!r}"
        head += byte
    return head.decode("latin-1")


def test_the_upload_url_comes_in_a_104_before_the_body_and_a_cut_first_request_resumes(
    tmp_path, clean_db, servers
):
    """The draft's interim response: sent as soon as the session exists, before any byte of
    the body (this client sends none until it has read it); the client then sends half and
    goes away, and resumes at the URL the 104 gave, sending only the rest."""
    server = launch(tmp_path, clean_db)
    servers.append(server)
    content = os.urandom(8 * MiB)
    image_id = new_image(server)
    sock = raw_creation(server, image_id, len(content), interop=True)
    interim = read_head(sock)
    assert interim.startswith("HTTP/1.1 104 "), interim
    url = header(interim, "Location")
    assert url.startswith(f"{server.url}/v2/images/{image_id}/file/uploads/")
    assert header(interim, "Upload-Draft-Interop-Version") == "6"
    sock.sendall(content[: 4 * MiB])
    spooled = tmp_path / "tus" / f"{url.rsplit('/', 1)[1]}.data"
    wait_for(lambda: spooled.stat().st_size == 4 * MiB, "the half to be spooled")
    sock.close()  # the client goes away mid-body
    wait_for(lambda: RECEIVED.search(server.log()), "the server to keep the cut chunk")
    durable = durable_offset(server, url)
    assert durable == 4 * MiB  # what arrived is kept, as the draft and tus ask
    rest = tmp_path / "rest"
    rest.write_bytes(content[durable:])
    send_the_rest(url, durable, rest)
    image = requests.get(f"{server.url}/v2/images/{image_id}", headers=IDENTITY, timeout=10)
    assert image.json()["status"] == "active"
    assert image.json()["checksum"] == hashlib.md5(content).hexdigest()
    assert received(server) == len(content)  # nothing sent twice
    assert "Traceback" not in server.log()


@pytest.mark.parametrize(
    ("interop", "options"),
    [(False, {}), (True, {"resumable_interim_responses": False})],
    ids=["not-asked", "turned-off"],
)
def test_no_104_for_a_client_that_did_not_ask_or_when_off(
    tmp_path, clean_db, servers, interop, options
):
    server = launch(tmp_path, clean_db, **options)
    servers.append(server)
    content = os.urandom(64 * 1024)
    image_id = new_image(server)
    sock = raw_creation(server, image_id, len(content), interop=interop)
    sock.sendall(content)
    final = read_head(sock)
    sock.close()
    assert final.startswith("HTTP/1.1 201 "), final
    shown = requests.get(f"{server.url}/v2/images/{image_id}", headers=IDENTITY, timeout=10)
    assert shown.json()["status"] == "active"
