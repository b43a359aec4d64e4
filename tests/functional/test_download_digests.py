"""A download's ``ETag`` (the content hash), ``Repr-Digest``/``Content-Digest`` (RFC 9530),
``If-None-Match`` on it, and ``HEAD /v2/images/{id}/file``."""

from __future__ import annotations

import base64
import hashlib

import pytest

from imgreg.layers.location import LocationImageRepo

# tools/test's first pass only: the digests come from the stored hashes; the image's ETag (its
# revision, a database value) is tested on every engine by test_image_etag.py
pytestmark = pytest.mark.first_pass

DATA = bytes(range(256)) * 40 + b"tail"


def b64(digest: bytes) -> str:
    return base64.b64encode(digest).decode()


# what a download of DATA says by default (upload_sha256): both, sha-256 first
SHA256 = f"sha-256=:{b64(hashlib.sha256(DATA).digest())}:"
REPR = f"{SHA256}, sha-512=:{b64(hashlib.sha512(DATA).digest())}:"


@pytest.fixture
def image(api):
    image = api.create(name="d")
    assert api.put_file(image["id"], DATA).status_int == 204
    return api.get(f"/v2/images/{image['id']}").json


def test_whole_download_has_etag_and_digests(api, image):
    resp = api.get(f"/v2/images/{image['id']}/file")
    assert resp.status_int == 200 and resp.body == DATA
    assert resp.headers["ETag"] == f'"{hashlib.sha512(DATA).hexdigest()}"'
    assert resp.headers["Repr-Digest"] == REPR
    assert resp.headers["Content-Digest"] == REPR
    assert resp.headers["Content-MD5"] == hashlib.md5(DATA).hexdigest()


def test_a_range_has_the_whole_datas_repr_digest_and_no_content_digest(api, image):
    resp = api.get(f"/v2/images/{image['id']}/file", headers={"Range": "bytes=10-19"})
    assert resp.status_int == 206 and resp.body == DATA[10:20]
    assert resp.headers["Repr-Digest"] == REPR
    assert "Content-Digest" not in resp.headers
    assert resp.headers["ETag"] == f'"{hashlib.sha512(DATA).hexdigest()}"'


def test_sha256_when_that_is_the_hashing_algorithm(api, conf):
    conf.set_override("hashing_algorithm", "sha256")
    image = api.create(name="d")
    assert api.put_file(image["id"], DATA).status_int == 204
    resp = api.get(f"/v2/images/{image['id']}/file")
    assert resp.headers["Repr-Digest"] == f"sha-256=:{b64(hashlib.sha256(DATA).digest())}:"
    assert resp.headers["ETag"] == f'"{hashlib.sha256(DATA).hexdigest()}"'


def test_no_digest_for_an_algorithm_rfc_9530_does_not_list(api, conf):
    conf.set_override("hashing_algorithm", "sha3_512")
    image = api.create(name="d")
    assert api.put_file(image["id"], DATA).status_int == 204
    resp = api.get(f"/v2/images/{image['id']}/file")
    assert resp.status_int == 200
    assert resp.headers["Repr-Digest"] == SHA256
    conf.set_override("upload_sha256", False)
    image = api.create(name="d")
    assert api.put_file(image["id"], DATA).status_int == 204
    resp = api.get(f"/v2/images/{image['id']}/file")
    assert "Repr-Digest" not in resp.headers
    assert resp.headers["ETag"] == f'"{hashlib.sha3_512(DATA).hexdigest()}"'


def test_if_none_match_on_the_data_is_304(api, image):
    path = f"/v2/images/{image['id']}/file"
    etag = api.get(path).headers["ETag"]
    for header in (etag, f"W/{etag}", "*", f'"x", {etag}'):
        resp = api.get(path, headers={"If-None-Match": header})
        assert resp.status_int == 304, header
        assert resp.body == b""
        assert resp.headers["ETag"] == etag
    resp = api.get(path, headers={"If-None-Match": f'"{image["checksum"]}"'})
    assert resp.status_int == 200 and resp.body == DATA
    resp = api.get(path, headers={"If-None-Match": etag, "Range": "bytes=5000000-"})
    assert resp.status_int == 304  # the precondition first: no 416


def test_if_none_match_does_not_bypass_the_download_rules(api):
    owner = api.as_("p1")
    image = owner.create(name="d", visibility="private")
    assert owner.put_file(image["id"], DATA).status_int == 204
    path = f"/v2/images/{image['id']}/file"
    etag = owner.get(path).headers["ETag"]
    assert api.as_("p2").get(path, headers={"If-None-Match": etag}).status_int == 404
    assert owner.post(f"/v2/images/{image['id']}/actions/deactivate").status_int == 204
    assert owner.get(path, headers={"If-None-Match": etag}).status_int == 403


def test_head_of_the_data(api, image, monkeypatch):
    path = f"/v2/images/{image['id']}/file"
    got = api.get(path)

    def no_read(*args, **kwargs):
        raise AssertionError("HEAD read the data")

    monkeypatch.setattr(LocationImageRepo, "open_data", no_read)
    head = api.request("HEAD", path)
    assert head.status_int == 200
    assert head.body == b""
    assert int(head.headers["Content-Length"]) == len(DATA)
    for name in ("Content-Type", "Content-MD5", "ETag", "Repr-Digest", "Content-Digest"):
        assert head.headers[name] == got.headers[name], name
    # Range is for GET only: HEAD answers the whole data's headers
    ranged = api.request("HEAD", path, headers={"Range": "bytes=0-1"})
    assert ranged.status_int == 200 and int(ranged.headers["Content-Length"]) == len(DATA)
    etag = got.headers["ETag"]
    assert api.request("HEAD", path, headers={"If-None-Match": etag}).status_int == 304


def test_head_follows_the_rules_of_get(api):
    owner = api.as_("p1")
    image = owner.create(name="d", visibility="private")
    path = f"/v2/images/{image['id']}/file"
    assert owner.request("HEAD", path).status_int == 204  # no data yet, as GET
    assert owner.get(path).status_int == 204
    assert owner.put_file(image["id"], DATA).status_int == 204
    stranger = api.as_("p2")
    assert stranger.request("HEAD", path).status_int == 404
    assert stranger.get(path).status_int == 404
    assert owner.post(f"/v2/images/{image['id']}/actions/deactivate").status_int == 204
    assert owner.request("HEAD", path).status_int == 403
    assert api.request("HEAD", path).status_int == 200  # an admin still may


@pytest.mark.parametrize(
    "header",
    ["", "garbage", '"', "W/", '"' + "a" * 10000 + '"', "\u00e2\u0098\u0083", '"1" "2"'],
)
def test_hostile_if_none_match_on_the_data(api, image, header):
    resp = api.get(f"/v2/images/{image['id']}/file", headers={"If-None-Match": header})
    assert resp.status_int == 200 and resp.body == DATA


# -- Content-Digest of a range, when asked (imgreg.api.content_digest) -------------------------


@pytest.mark.parametrize(
    ("want", "algo"),
    [
        ("sha-256=10", "sha256"),
        ("sha-512=3", "sha512"),
        ("sha-512=3, sha-256=7", "sha256"),
        ("md5=10, sha-512=1", "sha512"),  # what we do not compute is passed over
        ("sha-256", "sha256"),  # a bare key is true
    ],
)
def test_a_range_gets_the_content_digest_of_its_bytes_when_asked(api, image, want, algo):
    headers = {"Range": "bytes=10-4000", "Want-Content-Digest": want}
    resp = api.get(f"/v2/images/{image['id']}/file", headers=headers)
    assert resp.status_int == 206 and resp.body == DATA[10:4001]
    name = {"sha256": "sha-256", "sha512": "sha-512"}[algo]
    part = hashlib.new(algo, DATA[10:4001]).digest()
    assert resp.headers["Content-Digest"] == f"{name}=:{b64(part)}:"
    # the representation's digest stays the whole data's
    assert resp.headers["Repr-Digest"] == REPR


@pytest.mark.parametrize(
    "want",
    [
        "sha-256=0",  # not acceptable
        "md5=10",
        "sha-256=11",  # out of RFC 9530's 0-10: the field is ignored
        "sha-256=:abc:",
        "sha-256=10;q=1",
        "SHA-256=10",
        ",,,",
        "a=1," * 40,
        "\x00",
    ],
)
def test_hostile_or_unusable_want_content_digest_is_ignored(api, image, want):
    headers = {"Range": "bytes=10-19", "Want-Content-Digest": want}
    resp = api.get(f"/v2/images/{image['id']}/file", headers=headers)
    assert resp.status_int == 206 and resp.body == DATA[10:20]
    assert "Content-Digest" not in resp.headers


def test_no_content_digest_for_a_range_over_the_bound(api, image, monkeypatch):
    monkeypatch.setattr("imgreg.api.content_digest.MAX_HASHED_RANGE", 100)
    headers = {"Want-Content-Digest": "sha-256=5"}
    path = f"/v2/images/{image['id']}/file"
    assert (
        "Content-Digest" not in api.get(path, headers={**headers, "Range": "bytes=0-100"}).headers
    )
    assert "Content-Digest" in api.get(path, headers={**headers, "Range": "bytes=0-99"}).headers


def test_a_whole_download_keeps_the_stored_digest_whatever_is_wanted(api, image):
    headers = {"Want-Content-Digest": "sha-256=10", "Want-Repr-Digest": "sha-256=10"}
    resp = api.get(f"/v2/images/{image['id']}/file", headers=headers)
    assert (resp.headers["Content-Digest"], resp.headers["Repr-Digest"]) == (REPR, REPR)
