"""``Repr-Digest`` on ``PUT /file`` and ``PUT /stage`` (RFC 9530): verified before the image
takes the data; a mismatch is 400, the image back to ``queued``, nothing stored, no quota
kept; a malformed field is 400."""

from __future__ import annotations

import base64
import hashlib

import pytest

from imgreg.integrity import expected
from tests.support.client import stored_files

DATA = bytes(range(256)) * 64 + b"end"
OTHER = b"not the data"


def field(name, data):
    algo = {"sha-256": hashlib.sha256, "sha-512": hashlib.sha512}[name]
    return f"{name}=:{base64.b64encode(algo(data).digest()).decode()}:"


def put(client, image_id, data, digest, kind="file"):
    return client.request(
        "PUT",
        f"/v2/images/{image_id}/{kind}",
        raw=data,
        headers={"Content-Type": "application/octet-stream", "Repr-Digest": digest},
    )


@pytest.mark.parametrize(
    "header",
    [
        field("sha-256", DATA),
        field("sha-512", DATA),
        f"{field('sha-256', DATA)}, {field('sha-512', DATA)}",
        f"md5=:{base64.b64encode(hashlib.md5(DATA).digest()).decode()}:, {field('sha-256', DATA)}",
        f"{field('sha-512', OTHER)}, {field('sha-512', DATA)}",  # a repeated key: the last
    ],
)
def test_a_matching_digest_is_accepted(api, header):
    image = api.create(name="d")
    resp = put(api, image["id"], DATA, header)
    assert resp.status_int == 204, resp.text
    shown = api.get(f"/v2/images/{image['id']}").json
    assert shown["status"] == "active" and shown["size"] == len(DATA)
    assert api.get(f"/v2/images/{image['id']}/file").body == DATA


@pytest.mark.parametrize(
    "header",
    [
        field("sha-256", OTHER),
        field("sha-512", OTHER),
        f"{field('sha-256', DATA)}, {field('sha-512', OTHER)}",
        f"{field('sha-512', DATA)}, {field('sha-256', OTHER)}",
    ],
)
def test_a_mismatch_is_400_and_keeps_nothing(api, conf, store_dir, header):
    conf.set_override("user_storage_quota", "1MB")
    owner = api.as_("p1")
    image = owner.create(name="d")
    resp = owner.request(
        "PUT",
        f"/v2/images/{image['id']}/file",
        raw=DATA,
        headers={
            "Content-Type": "application/octet-stream",
            "Repr-Digest": header,
            "Accept": "application/json",
        },
    )
    assert resp.status_int == 400
    assert "does not match its Repr-Digest" in resp.json["message"]
    shown = owner.get(f"/v2/images/{image['id']}").json
    assert shown["status"] == "queued"
    assert shown["size"] is None and shown["checksum"] is None
    assert stored_files(store_dir) == []
    assert owner.get("/v2/info/usage").json["usage"]["image_size_total"]["usage"] == 0
    # the same upload with the right digest then works
    assert put(owner, image["id"], DATA, field("sha-256", DATA)).status_int == 204


def test_stage_verifies_too(api, conf, store_dir):
    conf.set_override("enabled_import_methods", ["glance-direct"])
    image = api.create(name="s")
    resp = put(api, image["id"], DATA, field("sha-256", OTHER), kind="stage")
    assert resp.status_int == 400
    assert api.get(f"/v2/images/{image['id']}").json["status"] == "queued"
    resp = put(api, image["id"], DATA, field("sha-512", DATA), kind="stage")
    assert resp.status_int == 204
    assert api.get(f"/v2/images/{image['id']}").json["status"] == "uploading"


@pytest.fixture
def side_hashes(monkeypatch) -> list[list[str]]:
    """The algorithms of each ``DigestingReader`` made (each upload's side hashes)."""
    made: list[list[str]] = []
    real = expected.DigestingReader.__init__

    def spy(self, stream, algorithms):
        made.append(list(algorithms))
        real(self, stream, algorithms)

    monkeypatch.setattr(expected.DigestingReader, "__init__", spy)
    return made


def test_sha256_is_hashed_only_when_asked_for(api, conf, side_hashes):
    conf.set_override("upload_sha256", False)
    for header in (None, field("sha-512", DATA), field("sha-256", DATA)):
        image = api.create(name="d")
        headers = {"Content-Type": "application/octet-stream"}
        if header:
            headers["Repr-Digest"] = header
        resp = api.request("PUT", f"/v2/images/{image['id']}/file", raw=DATA, headers=headers)
        assert resp.status_int == 204
    assert side_hashes == [[], [], ["sha256"]]


def test_the_download_digest_round_trips(api):
    image = api.create(name="d")
    assert put(api, image["id"], DATA, field("sha-512", DATA)).status_int == 204
    resp = api.get(f"/v2/images/{image['id']}/file")
    assert resp.headers["Repr-Digest"] == f"{field('sha-256', DATA)}, {field('sha-512', DATA)}"


def plain_put(client, image_id, data):
    headers = {"Content-Type": "application/octet-stream"}
    return client.request("PUT", f"/v2/images/{image_id}/file", raw=data, headers=headers)


def test_a_download_carries_sha256_by_default(api):
    """What ``sha256sum`` of the file says, with no Repr-Digest on the upload."""
    image = api.create(name="d")
    assert plain_put(api, image["id"], DATA).status_int == 204
    for method in ("GET", "HEAD"):
        resp = api.request(method, f"/v2/images/{image['id']}/file")
        members = dict(m.split("=", 1) for m in resp.headers["Repr-Digest"].split(", "))
        assert base64.b64decode(members["sha-256"].strip(":")) == hashlib.sha256(DATA).digest()
        assert base64.b64decode(members["sha-512"].strip(":")) == hashlib.sha512(DATA).digest()


def test_upload_sha256_off_keeps_the_multihash_only(api, conf):
    conf.set_override("upload_sha256", False)
    image = api.create(name="d")
    assert plain_put(api, image["id"], DATA).status_int == 204
    resp = api.get(f"/v2/images/{image['id']}/file")
    assert resp.headers["Repr-Digest"] == field("sha-512", DATA)


def test_a_sha256_multihash_is_not_hashed_twice(api, conf, side_hashes):
    conf.set_override("hashing_algorithm", "sha256")
    image = api.create(name="d")
    assert plain_put(api, image["id"], DATA).status_int == 204
    assert side_hashes == [[]]
    resp = api.get(f"/v2/images/{image['id']}/file")
    assert resp.headers["Repr-Digest"] == field("sha-256", DATA)


def test_a_failed_upload_forgets_its_sha256(api):
    image = api.create(name="d")
    assert put(api, image["id"], DATA, field("sha-512", OTHER)).status_int == 400
    assert plain_put(api, image["id"], OTHER).status_int == 204
    resp = api.get(f"/v2/images/{image['id']}/file")
    assert field("sha-256", OTHER) in resp.headers["Repr-Digest"]


B64_32 = base64.b64encode(b"x" * 32).decode()
MALFORMED = [
    "",
    " ",
    "garbage",
    "sha-256",
    "sha-256=",
    "sha-256=::",
    f"sha-256={B64_32}",  # a token, not a byte sequence
    f'sha-256="{B64_32}"',
    f"sha-256=:{B64_32}",
    f"sha-256=:{B64_32}:;p=1",
    f"SHA-256=:{B64_32}:",  # keys are lowercase
    "sha-256=:!!!!:",
    "sha-256=:abc:",  # not padded base64
    f"sha-256=:{base64.b64encode(b'x' * 31).decode()}:",  # wrong length
    f"sha-512=:{B64_32}:",
    f"md5=:{base64.b64encode(b'x' * 16).decode()}:",  # nothing it could verify
    f"unixsum=:{B64_32}:",
    f"sha-256=:{B64_32}:,",
    f",sha-256=:{B64_32}:",
    ", ".join([f"sha-256=:{B64_32}:"] * 17),
    f"sha-256=:{'A' * 20000}:",
    "sha-256=:\u00e9t\u00e9:",
    "\u00e2\u0098\u0083=:AAAA:",
    f"sha-256=:{B64_32}:\x00",
]


@pytest.mark.parametrize("header", MALFORMED)
def test_a_malformed_repr_digest_is_400_before_any_data(api, store_dir, header):
    image = api.create(name="d")
    resp = put(api, image["id"], DATA, header)
    assert resp.status_int == 400, resp.text
    assert "Repr-Digest" in resp.text
    assert api.get(f"/v2/images/{image['id']}").json["status"] == "queued"
    assert stored_files(store_dir) == []


def test_without_the_header_nothing_changes(api):
    image = api.create(name="d")
    resp = api.put_file(image["id"], DATA)
    assert resp.status_int == 204
    assert api.get(f"/v2/images/{image['id']}").json["status"] == "active"
