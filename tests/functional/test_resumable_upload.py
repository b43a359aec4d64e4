"""tus 1.0 resumable uploads (``imgreg.api.resumable``) in process: the protocol, its refusals,
and that a client that does not speak it sees nothing new."""

from __future__ import annotations

import base64
import hashlib
import os
import threading
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import webob

from imgreg.maintenance.recovery import reap
from imgreg.services.wiring import services
from imgreg.store.resumable import SessionSpool
from tests.support.client import Body, Client, client_with, stored_files

DATA = os.urandom(3 * 1024 * 1024 + 17)
TUS = {"Tus-Resumable": "1.0.0"}
CHUNK = {**TUS, "Content-Type": "application/offset+octet-stream"}


@pytest.fixture
def spool(tmp_path: Path) -> Path:
    return tmp_path / "tus"


@pytest.fixture
def tus(conf, spool) -> Client:
    return client_with(conf, resumable_upload_dir=str(spool)).as_("p1")


def start(client: Client, image_id: str, length: int, target: str = "file", **headers: str):
    return client.request(
        "POST",
        f"/v2/images/{image_id}/{target}",
        headers={**TUS, "Upload-Length": str(length), **headers},
    )


def where(resp) -> str:
    """The session's path, from the creation's absolute Location."""
    assert resp.status_int == 201, resp.text
    return urlsplit(resp.headers["Location"]).path


def send(client: Client, url: str, offset: int, data: bytes, **headers: str):
    return client.request(
        "PATCH", url, raw=data, headers={**CHUNK, "Upload-Offset": str(offset), **headers}
    )


def offset_of(client: Client, url: str) -> int:
    resp = client.request("HEAD", url, headers=TUS)
    assert resp.status_int == 200, resp.text
    assert resp.headers["Cache-Control"] == "no-store"
    return int(resp.headers["Upload-Offset"])


def test_upload_in_chunks_resumes_at_the_durable_offset_and_activates(tus, spool):
    image = tus.create(name="tus")
    resp = start(tus, image["id"], len(DATA))
    assert resp.status_int == 201, resp.text
    assert resp.headers["Tus-Resumable"] == "1.0.0"
    assert "Upload-Expires" in resp.headers
    url = where(resp)
    assert url.startswith(f"/v2/images/{image['id']}/file/uploads/")
    assert offset_of(tus, url) == 0
    half = len(DATA) // 2
    resp = send(tus, url, 0, DATA[:half])
    assert resp.status_int == 204, resp.text
    assert resp.headers["Upload-Offset"] == str(half)
    assert tus.get(f"/v2/images/{image['id']}").json["status"] == "queued"
    # the client lost its state: it asks, and sends the rest only
    assert offset_of(tus, url) == half
    resp = send(tus, url, half, DATA[half:])
    assert resp.status_int == 204, resp.text
    shown = tus.get(f"/v2/images/{image['id']}").json
    assert shown["status"] == "active"
    assert shown["size"] == len(DATA)
    assert shown["checksum"] == hashlib.md5(DATA).hexdigest()
    assert shown["os_hash_value"] == hashlib.sha512(DATA).hexdigest()
    assert tus.get(f"/v2/images/{image['id']}/file").body == DATA
    assert os.listdir(spool) == []  # the session ended with the upload
    assert tus.request("HEAD", url, headers=TUS).status_int == 404


def test_creation_with_upload_and_options(tus):
    image = tus.create(name="tus")
    resp = tus.request(
        "POST",
        f"/v2/images/{image['id']}/file",
        raw=DATA,
        headers={**CHUNK, "Upload-Length": str(len(DATA))},
    )
    assert resp.status_int == 201, resp.text
    assert resp.headers["Upload-Offset"] == str(len(DATA))
    assert tus.get(f"/v2/images/{image['id']}").json["status"] == "active"
    resp = tus.request("OPTIONS", f"/v2/images/{image['id']}/file", headers=TUS)
    assert resp.status_int == 204
    assert resp.headers["Tus-Version"] == "1.0.0"
    assert "termination" in resp.headers["Tus-Extension"].split(",")
    assert int(resp.headers["Tus-Max-Size"]) > 0


def test_stage_then_the_image_is_uploading(tus):
    image = tus.create(name="staged")
    resp = start(tus, image["id"], len(DATA), target="stage")
    assert resp.status_int == 201, resp.text
    url = where(resp)
    assert "/stage/uploads/" in url
    assert send(tus, url, 0, DATA).status_int == 204
    shown = tus.get(f"/v2/images/{image['id']}").json
    assert shown["status"] == "uploading"


def test_checksum_mismatch_is_460_and_the_chunk_is_not_kept(tus):
    image = tus.create(name="tus")
    url = where(start(tus, image["id"], len(DATA)))
    wrong = base64.b64encode(hashlib.sha256(b"other").digest()).decode()
    resp = send(tus, url, 0, DATA[:1000], **{"Upload-Checksum": f"sha256 {wrong}"})
    assert resp.status_int == 460
    assert offset_of(tus, url) == 0
    right = base64.b64encode(hashlib.sha256(DATA[:1000]).digest()).decode()
    resp = send(tus, url, 0, DATA[:1000], **{"Upload-Checksum": f"sha256 {right}"})
    assert resp.status_int == 204
    assert offset_of(tus, url) == 1000


def test_termination_removes_the_session(tus, spool):
    image = tus.create(name="tus")
    url = where(start(tus, image["id"], len(DATA)))
    send(tus, url, 0, DATA[:100])
    assert tus.request("DELETE", url, headers=TUS).status_int == 204
    assert os.listdir(spool) == []
    assert tus.request("HEAD", url, headers=TUS).status_int == 404
    assert tus.get(f"/v2/images/{image['id']}").json["status"] == "queued"


@pytest.mark.parametrize("offset", ["-1", "abc", "1" * 30, "", "5", "0x0", "+1"])
def test_wrong_or_garbage_offsets(tus, offset):
    image = tus.create(name="tus")
    url = where(start(tus, image["id"], len(DATA)))
    resp = tus.request("PATCH", url, raw=b"abc", headers={**CHUNK, "Upload-Offset": offset})
    assert resp.status_int == (409 if offset == "5" else 400), resp.text
    assert offset_of(tus, url) == 0


@pytest.mark.parametrize("length", ["-1", "abc", "", "9" * 30, str(1 << 62)])
def test_garbage_or_huge_lengths(tus, spool, length):
    image = tus.create(name="tus")
    resp = start(tus, image["id"], 0, **{"Upload-Length": length})
    assert resp.status_int in (400, 413), resp.text
    assert not spool.exists() or os.listdir(spool) == []


def test_a_chunk_past_the_length_is_refused_and_not_kept(tus):
    image = tus.create(name="tus")
    url = where(start(tus, image["id"], 10))
    assert send(tus, url, 0, b"x" * 11).status_int == 400
    assert offset_of(tus, url) == 0


def test_patch_needs_the_offset_stream_type(tus):
    image = tus.create(name="tus")
    url = where(start(tus, image["id"], 10))
    resp = send(tus, url, 0, b"x" * 5, **{"Content-Type": "application/octet-stream"})
    assert resp.status_int == 415


def test_wrong_tus_version_is_412(tus):
    image = tus.create(name="tus")
    url = where(start(tus, image["id"], 10))
    resp = send(tus, url, 0, b"x", **{"Tus-Resumable": "0.2.2"})
    assert resp.status_int == 412
    assert resp.headers["Tus-Version"] == "1.0.0"


def test_another_projects_session_is_404(tus):
    image = tus.create(name="tus", visibility="community")
    url = where(start(tus, image["id"], 10))
    other = tus.as_("p2")
    assert other.request("HEAD", url, headers=TUS).status_int == 404
    assert send(other, url, 0, b"x" * 10).status_int == 404
    assert other.request("DELETE", url, headers=TUS).status_int == 404
    assert offset_of(tus, url) == 0


@pytest.mark.parametrize("session", ["../../etc", "x" * 32, "0" * 31, "A" * 32])
def test_unknown_or_hostile_session_ids_are_404(tus, session):
    image = tus.create(name="tus")
    resp = tus.request("HEAD", f"/v2/images/{image['id']}/file/uploads/{session}", headers=TUS)
    assert resp.status_int == 404


def test_a_session_of_another_image_is_404(tus):
    first = tus.create(name="a")
    second = tus.create(name="b")
    url = where(start(tus, first["id"], 10))
    elsewhere = url.replace(first["id"], second["id"])
    assert tus.request("HEAD", elsewhere, headers=TUS).status_int == 404


def test_creating_on_an_active_image_is_409(tus):
    image = tus.create(name="tus")
    assert tus.put_file(image["id"], b"abc").status_int == 204
    assert start(tus, image["id"], 10).status_int == 409


def test_concurrent_patches_on_one_session_one_is_409(tus):
    image = tus.create(name="tus")
    url = where(start(tus, image["id"], len(DATA)))
    inside = threading.Event()
    release = threading.Event()

    class SlowBody:
        """A body whose first read waits until the second request has been answered."""

        def __init__(self) -> None:
            self.sent = False

        def read(self, size: int = -1) -> bytes:
            if self.sent:
                return b""
            inside.set()
            release.wait(10)
            self.sent = True
            return DATA[:100]

    def slow() -> None:
        req = webob.Request.blank(url, method="PATCH")
        req.headers.update({**tus.headers, **CHUNK, "Upload-Offset": "0"})
        req.body_file = SlowBody()
        req.content_length = 100
        results.append(req.get_response(tus.app).status_int)

    results: list[int] = []
    thread = threading.Thread(target=slow)
    thread.start()
    assert inside.wait(10)
    assert send(tus, url, 0, DATA[:100]).status_int == 409
    release.set()
    thread.join(10)
    assert results == [204]
    assert offset_of(tus, url) == 100


def test_without_tus_post_and_options_on_file_stay_405(tus, api):
    for client in (tus, api):
        image = client.create(name="plain")
        resp = client.request("POST", f"/v2/images/{image['id']}/file")
        assert resp.status_int == 405
        assert resp.headers["Allow"] == "GET, PUT, HEAD"
        # OPTIONS: the router's 405, which oslo.middleware's CORS filter (first in the
        # pipeline, as in Glance) turns into an empty 200, as Glance answers; nothing of tus
        resp = client.request("OPTIONS", f"/v2/images/{image['id']}/file")
        assert (resp.status_int, resp.body) == (200, b"")
        assert not [name for name in resp.headers if name.lower().startswith("tus-")]


def test_expired_sessions_are_reaped_with_their_bytes(conf, spool, store_dir):
    client = client_with(conf, resumable_upload_dir=str(spool), resumable_upload_expiry=1).as_("p1")
    image = client.create(name="tus")
    url = where(start(client, image["id"], len(DATA)))
    assert send(client, url, 0, DATA[:1000]).status_int == 204
    assert len(os.listdir(spool)) == 3
    for name in os.listdir(spool):  # a second ago and more: past its expiry
        os.utime(spool / name, (1, 1))
    reaped = reap(services())
    assert os.listdir(spool) == []
    assert len(reaped.sessions) == 1
    assert client.request("HEAD", url, headers=TUS).status_int == 404
    assert client.get(f"/v2/images/{image['id']}").json["status"] == "queued"
    assert stored_files(store_dir) == []


def test_only_who_may_upload_may_start_a_session(tus, conf, spool):
    image = tus.create(name="tus", visibility="community")
    other = tus.as_("p2")
    assert other.get(f"/v2/images/{image['id']}").status_int == 200  # it sees it
    assert start(other, image["id"], 10).status_int == 403
    reader = tus.as_("p1", roles="reader")
    assert start(reader, image["id"], 10).status_int == 403
    assert not spool.exists() or os.listdir(spool) == []


@pytest.mark.parametrize("sized", [True, False])
@pytest.mark.parametrize("checked", [True, False])
def test_a_chunk_cut_by_a_broken_body_keeps_what_arrived_unless_checksummed(tus, sized, checked):
    image = tus.create(name="tus")
    url = where(start(tus, image["id"], len(DATA)))
    assert send(tus, url, 0, DATA[:1000]).status_int == 204
    cut_at = 2 * 1024 * 1024
    body = Body(DATA[1000:], after=cut_at, fail=OSError("connection reset"))
    req = webob.Request.blank(url, method="PATCH")
    req.headers.update({**tus.headers, **CHUNK, "Upload-Offset": "1000"})
    if checked:
        digest = base64.b64encode(hashlib.sha256(DATA[1000:]).digest()).decode()
        req.headers["Upload-Checksum"] = f"sha256 {digest}"
    if sized:
        req.environ["wsgi.input"] = body
        req.content_length = len(body.data)
    else:
        req.body_file = body
    assert req.get_response(tus.app).status_int == 400
    kept = 1000 if checked else 1000 + cut_at  # tus: keep what arrived, if it can be trusted
    assert offset_of(tus, url) == kept
    assert send(tus, url, kept, DATA[kept:]).status_int == 204
    assert tus.get(f"/v2/images/{image['id']}/file").body == DATA


def test_the_reaper_leaves_a_session_being_written_and_finishes_a_cut_deletion(tus, spool):
    image = tus.create(name="tus")
    url = where(start(tus, image["id"], len(DATA)))
    session_id = url.rsplit("/", 1)[1]
    spooled = SessionSpool(str(spool), 1)
    for name in os.listdir(spool):
        os.utime(spool / name, (1, 1))
    with spooled.locked(session_id):  # a PATCH under way
        assert spooled.reap() == []
    (spool / f"{session_id}.data").unlink()  # a deletion a crash cut short
    assert spooled.reap() == [session_id]
    assert os.listdir(spool) == []


# -- the IETF draft ("Resumable Uploads for HTTP") over the same sessions ----------------------

PARTIAL = {"Content-Type": "application/partial-upload"}


def test_ietf_draft_create_append_ask_and_complete(tus):
    image = tus.create(name="ietf")
    half = len(DATA) // 2
    resp = tus.request(
        "POST",
        f"/v2/images/{image['id']}/file",
        raw=DATA[:half],
        headers={
            "Upload-Complete": "?0",
            "Upload-Length": str(len(DATA)),
            "Content-Type": "application/octet-stream",
        },
    )
    url = where(resp)
    assert "Tus-Resumable" not in resp.headers
    assert resp.headers["Upload-Offset"] == str(half)
    head = tus.request("HEAD", url)  # curl -I: no header of either protocol
    assert head.status_int == 204
    assert (head.headers["Upload-Offset"], head.headers["Upload-Complete"]) == (str(half), "?0")
    assert head.headers["Cache-Control"] == "no-store"
    headers = {**PARTIAL, "Upload-Offset": str(half), "Upload-Complete": "?1"}
    assert tus.request("PATCH", url, raw=DATA[half:], headers=headers).status_int == 204
    shown = tus.get(f"/v2/images/{image['id']}").json
    assert (shown["status"], shown["checksum"]) == ("active", hashlib.md5(DATA).hexdigest())


def test_ietf_draft_whole_upload_in_one_request(tus):
    image = tus.create(name="ietf")
    resp = tus.request(
        "POST",
        f"/v2/images/{image['id']}/file",
        raw=DATA,
        headers={"Upload-Complete": "?1", "Content-Type": "application/octet-stream"},
    )
    assert resp.status_int == 201, resp.text
    assert tus.get(f"/v2/images/{image['id']}").json["status"] == "active"


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({"Upload-Complete": "yes"}, 400),
        ({"Upload-Complete": "?0"}, 400),  # no length: unknown lengths are not supported
        ({"Upload-Complete": "?0", "Upload-Length": "-5"}, 400),
        ({"Upload-Complete": "?0", "Upload-Length": "10", "Content-Type": "text/plain"}, 415),
    ],
)
def test_ietf_draft_bad_creations(tus, spool, headers, status):
    image = tus.create(name="ietf")
    raw = b"x" if "Content-Type" in headers else None
    resp = tus.request("POST", f"/v2/images/{image['id']}/file", raw=raw, headers=headers)
    assert resp.status_int == status, resp.text
    assert not spool.exists() or os.listdir(spool) == []


def test_ietf_draft_bad_appends(tus):
    image = tus.create(name="ietf")
    create = {"Upload-Complete": "?0", "Upload-Length": "100"}
    url = where(tus.request("POST", f"/v2/images/{image['id']}/file", headers=create))
    base = {**PARTIAL, "Upload-Complete": "?0"}
    wrong_type = {**base, "Content-Type": "application/octet-stream", "Upload-Offset": "0"}
    assert tus.request("PATCH", url, raw=b"x" * 10, headers=wrong_type).status_int == 415
    too_early = {**base, "Upload-Complete": "?1", "Upload-Offset": "0"}
    assert tus.request("PATCH", url, raw=b"x" * 10, headers=too_early).status_int == 400
    no_complete = {**PARTIAL, "Upload-Offset": "0"}
    assert tus.request("PATCH", url, raw=b"x" * 10, headers=no_complete).status_int == 400
    wrong_offset = {**base, "Upload-Offset": "7"}
    assert tus.request("PATCH", url, raw=b"x" * 10, headers=wrong_offset).status_int == 409
    assert (
        tus.request("HEAD", url, headers={"Upload-Complete": "?0"}).headers["Upload-Offset"] == "0"
    )
