"""Hostile input to ``POST /v2/images/{id}/import`` and ``PUT /v2/images/{id}/stage`` through
the whole app in process: every case gets its 4xx (never a 500) with Glance's JSON error body
(the requests accept JSON), and changes nothing: every row of every table and every stored file
are compared (``test_hostile_input``'s harness), so the image is still queued and no data or
task was kept. A refused stage moves the image queued → uploading → queued, which leaves it as
it was except for its update time (``streamed``).

web-download URIs are checked with the default filtering (http and https on ports 80 and 443,
global addresses only); this machine resolves no name, so a name fails the check quickly.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest
import webob

from tests.functional.test_hostile_input import Case, World, dump_database, nested, send
from tests.support.client import UNKNOWN_ID, Body, Client, client_with, new_image

Q = "{q}"  # a queued image (nothing staged)
A = "{a}"  # an active image
ACCEPT = {"Accept": "application/json"}
JSON = {**ACCEPT, "Content-Type": "application/json"}
OCTETS = {**ACCEPT, "Content-Type": "application/octet-stream"}
BODY_LIMIT = 64 * 1024  # imgreg.api.image_import.BODY_LIMIT
IMPORT = f"/v2/images/{Q}/import"
STAGE = f"/v2/images/{Q}/stage"


def body(value: Any) -> bytes:
    return json.dumps(value).encode()


def method(**fields: Any) -> bytes:
    return body({"method": fields})


def web(uri: Any) -> bytes:
    return method(name="web-download", uri=uri)


def direct(**fields: Any) -> bytes:
    """A glance-direct import request with more ``fields``."""
    return body({"method": {"name": "glance-direct"}, **fields})


def import_to(image_id: str, status: int) -> Case:
    return Case("POST", f"/v2/images/{image_id}/import", status, direct(), JSON)


def stage(status: int, size: str, data: bytes = b"data") -> Case:
    return Case("PUT", STAGE, status, data, {**OCTETS, "x-openstack-image-size": size}, {}, True)


CASES: dict[str, Case] = {
    # -- the import body: what it is -------------------------------------------------------
    "not-json": Case("POST", IMPORT, 400, b"method=glance-direct", JSON),
    "truncated-json": Case("POST", IMPORT, 400, b'{"method": {"name": ', JSON),
    "trailing-garbage": Case("POST", IMPORT, 400, method(name="glance-direct") + b" x", JSON),
    "invalid-utf8": Case("POST", IMPORT, 400, b'{"method": {"name": "\xff"}}', JSON),
    "empty-body": Case("POST", IMPORT, 400, b"", JSON),
    "no-body-no-type": Case("POST", IMPORT, 400, None, ACCEPT),
    "json-array": Case("POST", IMPORT, 400, body([{"method": {"name": "glance-direct"}}]), JSON),
    "json-string": Case("POST", IMPORT, 400, b'"glance-direct"', JSON),
    "json-number": Case("POST", IMPORT, 400, b"1e999", JSON),
    "json-null": Case("POST", IMPORT, 400, b"null", JSON),
    "deep-arrays": Case("POST", IMPORT, 400, nested(30_000), JSON),
    "deep-objects": Case("POST", IMPORT, 400, b'{"a":' * 10_000 + b"1" + b"}" * 10_000, JSON),
    "deep-in-method": Case(
        "POST", IMPORT, 400, b'{"method": ' + nested(20_000, "{", "}") + b"}", JSON
    ),
    "over-the-limit": Case("POST", IMPORT, 413, b" " * (BODY_LIMIT + 1), JSON),
    "over-the-limit-declared": Case(
        "POST", IMPORT, 413, b"{}", JSON, {"CONTENT_LENGTH": str(2**50)}
    ),
    # -- the method ------------------------------------------------------------------------
    "no-method": Case("POST", IMPORT, 400, body({"stores": []}), JSON),
    "method-string": Case("POST", IMPORT, 400, body({"method": "glance-direct"}), JSON),
    "method-list": Case("POST", IMPORT, 400, body({"method": ["glance-direct"]}), JSON),
    "method-null": Case("POST", IMPORT, 400, body({"method": None}), JSON),
    "no-name": Case("POST", IMPORT, 400, method(uri="http://example.com/x"), JSON),
    "name-empty": Case("POST", IMPORT, 400, method(name=""), JSON),
    "name-10000": Case("POST", IMPORT, 400, method(name="n" * 10_000), JSON),
    "name-number": Case("POST", IMPORT, 400, method(name=1), JSON),
    "name-null": Case("POST", IMPORT, 400, method(name=None), JSON),
    "name-true": Case("POST", IMPORT, 400, method(name=True), JSON),
    "name-list": Case("POST", IMPORT, 400, method(name=["glance-direct"]), JSON),
    "name-object": Case("POST", IMPORT, 400, method(name={"glance-direct": 1}), JSON),
    "name-nul": Case("POST", IMPORT, 400, method(name="glance-direct\x00"), JSON),
    "name-case": Case("POST", IMPORT, 400, method(name="Glance-Direct"), JSON),
    "name-lone-surrogate": Case("POST", IMPORT, 400, b'{"method": {"name": "\\ud800"}}', JSON),
    "name-not-enabled": Case("POST", IMPORT, 400, method(name="glance-download"), JSON),
    "glance-direct-unstaged": Case("POST", IMPORT, 409, method(name="glance-direct"), JSON),
    "copy-image-queued": Case("POST", IMPORT, 409, method(name="copy-image"), JSON),
    # -- web-download's uri ------------------------------------------------------------------
    "uri-missing": Case("POST", IMPORT, 400, method(name="web-download"), JSON),
    "uri-empty": Case("POST", IMPORT, 400, web(""), JSON),
    "uri-number": Case("POST", IMPORT, 400, web(80), JSON),
    "uri-null": Case("POST", IMPORT, 400, web(None), JSON),
    "uri-list": Case("POST", IMPORT, 400, web(["http://example.com/x"]), JSON),
    "uri-object": Case("POST", IMPORT, 400, web({"host": "example.com"}), JSON),
    "uri-100k": Case("POST", IMPORT, 413, web("http://example.com/" + "a" * 100 * 1024), JSON),
    "uri-60k-path": Case("POST", IMPORT, 400, web("http://example.com/" + "a" * 60_000), JSON),
    "uri-60k-host": Case("POST", IMPORT, 400, web("http://" + "a" * 60_000 + "/x"), JSON),
    "uri-nul-host": Case("POST", IMPORT, 400, web("http://exam\x00ple.com/x"), JSON),
    "uri-nul-path": Case("POST", IMPORT, 400, web("http://example.com/x\x00y"), JSON),
    "uri-crlf-host": Case("POST", IMPORT, 400, web("http://exam\r\nple.com/x"), JSON),
    "uri-crlf-path": Case(
        "POST", IMPORT, 400, web("http://example.com/x\r\nHost: evil.example"), JSON
    ),
    "uri-space-host": Case("POST", IMPORT, 400, web("http://exam ple.com/x"), JSON),
    "uri-space-path": Case("POST", IMPORT, 400, web("http://example.com/a b"), JSON),
    "uri-leading-space": Case("POST", IMPORT, 400, web(" http://example.com/x"), JSON),
    "uri-tab": Case("POST", IMPORT, 400, web("http://exa\tmple.com/x"), JSON),
    "uri-idn-host": Case("POST", IMPORT, 400, web("http://bücher.example/x"), JSON),
    "uri-idn-bad-punycode": Case("POST", IMPORT, 400, web("http://xn--/x"), JSON),
    "uri-idn-too-long-label": Case("POST", IMPORT, 400, web(f"http://{'ü' * 70}.de/x"), JSON),
    "uri-fullwidth-digits": Case(
        "POST", IMPORT, 400, web("http://\uff11\uff12\uff17.\uff10.\uff10.\uff11/x"), JSON
    ),
    "uri-fullwidth-dot": Case("POST", IMPORT, 400, web("http://example。com/x"), JSON),
    "uri-emoji-host": Case("POST", IMPORT, 400, web("http://\U0001f600.example/x"), JSON),
    "uri-rtl-override": Case("POST", IMPORT, 400, web("http://exa\u202emple.com/x"), JSON),
    "uri-lone-surrogate": Case(
        "POST", IMPORT, 400, b'{"method": {"name": "web-download", "uri": "http://\\udc80/"}}', JSON
    ),
    "uri-no-scheme": Case("POST", IMPORT, 400, web("example.com/x"), JSON),
    "uri-file": Case("POST", IMPORT, 400, web("file:///etc/passwd"), JSON),
    "uri-ftp": Case("POST", IMPORT, 400, web("ftp://example.com/x"), JSON),
    "uri-no-host": Case("POST", IMPORT, 400, web("http:///x"), JSON),
    "uri-credentials": Case("POST", IMPORT, 400, web("http://u:p@example.com/x"), JSON),
    "uri-fragment": Case("POST", IMPORT, 400, web("http://example.com/x#y"), JSON),
    "uri-port-huge": Case("POST", IMPORT, 400, web("http://example.com:99999/x"), JSON),
    "uri-port-word": Case("POST", IMPORT, 400, web("http://example.com:http/x"), JSON),
    "uri-port-not-allowed": Case("POST", IMPORT, 400, web("http://example.com:8080/x"), JSON),
    "uri-loopback": Case("POST", IMPORT, 400, web("http://127.0.0.1/x"), JSON),
    "uri-loopback-hex": Case("POST", IMPORT, 400, web("http://0x7f000001/x"), JSON),
    "uri-metadata": Case("POST", IMPORT, 400, web("http://169.254.169.254/latest"), JSON),
    "uri-ipv6-loopback": Case("POST", IMPORT, 400, web("http://[::1]/x"), JSON),
    "uri-ipv6-unclosed": Case("POST", IMPORT, 400, web("http://[::1/x"), JSON),
    "uri-ipv6-zone": Case("POST", IMPORT, 400, web("http://[fe80::1%25eth0]/x"), JSON),
    "uri-ipvfuture": Case("POST", IMPORT, 400, web("http://[v1.x]/x"), JSON),
    "uri-unresolvable": Case("POST", IMPORT, 400, web("http://no-such-host.invalid/x"), JSON),
    # -- stores and the all_stores flags -------------------------------------------------------
    "stores-string": Case("POST", IMPORT, 400, direct(stores="file"), JSON),
    "stores-number": Case("POST", IMPORT, 400, direct(stores=1), JSON),
    "stores-object": Case("POST", IMPORT, 400, direct(stores={"a": 1}), JSON),
    "stores-true": Case("POST", IMPORT, 400, direct(stores=True), JSON),
    "stores-of-numbers": Case("POST", IMPORT, 400, direct(stores=[1]), JSON),
    "stores-of-null": Case("POST", IMPORT, 400, direct(stores=[None]), JSON),
    "stores-of-lists": Case("POST", IMPORT, 400, direct(stores=[["a"]]), JSON),
    "stores-unknown": Case("POST", IMPORT, 400, direct(stores=["s" * 10_000]), JSON),
    "all-stores-string": Case("POST", IMPORT, 400, direct(all_stores="true"), JSON),
    "all-stores-null": Case("POST", IMPORT, 400, direct(all_stores=None), JSON),
    "must-succeed-number": Case("POST", IMPORT, 400, direct(all_stores_must_succeed=0), JSON),
    "must-succeed-false": Case("POST", IMPORT, 400, direct(all_stores_must_succeed=False), JSON),
    # -- the image id ----------------------------------------------------------------------
    "import-not-uuid": import_to("nope", 404),
    "import-nul-id": import_to("%00", 404),
    "import-dotdot-id": import_to("..", 404),
    "import-huge-id": import_to("f" * 10_000, 404),
    "import-unicode-id": import_to("%C3%BC", 404),
    "import-invalid-utf8-id": import_to("%ff", 400),
    "import-unknown-uuid": import_to(UNKNOWN_ID, 404),
    "import-active-glance-direct": import_to(A, 409),
    "import-get": Case("GET", IMPORT, 405, None, ACCEPT),
    # -- stage -----------------------------------------------------------------------------
    "stage-size-negative": stage(400, "-1"),
    "stage-size-minus-zero": stage(400, "-0"),
    "stage-size-huge": stage(400, "9" * 5000),
    "stage-size-2-64": stage(413, str(2**64)),  # over image_size_cap
    "stage-size-word": stage(400, "four"),
    "stage-size-hex": stage(400, "0x4"),
    "stage-size-float": stage(400, "4.0"),
    "stage-size-exponent": stage(400, "4e0"),
    "stage-size-empty": stage(400, ""),
    "stage-size-mismatch": stage(400, "9"),
    "stage-short-body": Case("PUT", STAGE, 400, b"abc", OCTETS, {"CONTENT_LENGTH": "10"}, True),
    "stage-huge-content-length": Case(
        "PUT", STAGE, 413, None, OCTETS, {"CONTENT_LENGTH": str(2**50)}, True
    ),
    "stage-text-plain": Case("PUT", STAGE, 415, b"data", {**ACCEPT, "Content-Type": "text/plain"}),
    "stage-json": Case("PUT", STAGE, 415, b"{}", JSON),
    "stage-no-content-type": Case("PUT", STAGE, 415, b"data", ACCEPT),
    "stage-not-uuid": Case("PUT", "/v2/images/nope/stage", 404, b"data", OCTETS),
    "stage-nul-id": Case("PUT", "/v2/images/%00/stage", 404, b"data", OCTETS),
    "stage-unknown-uuid": Case("PUT", f"/v2/images/{UNKNOWN_ID}/stage", 404, b"data", OCTETS),
    "stage-active": Case("PUT", f"/v2/images/{A}/stage", 409, b"data", OCTETS),
    "stage-post": Case("POST", STAGE, 405, b"data", OCTETS),
}


@pytest.fixture(scope="class")
def hostile_api(class_conf: Any) -> Client:
    return client_with(class_conf)


@pytest.fixture
def world(class_conf: Any, hostile_api: Client) -> World:
    """Two new images for each test (queued, with a property and a tag; active) in its class's
    app and database; a case still compares every row and file."""
    queued = new_image(hostile_api, name="q", k="v", tags=["t"])
    active = new_image(hostile_api, data=b"0123456789" * 100, name="a")
    ids = {"q": queued["id"], "a": active["id"]}
    store_dir = Path(class_conf.glance_store.filesystem_store_datadir)
    return World(hostile_api, ids, class_conf.database.connection, store_dir)


def check_error(name: str, resp: webob.Response, status: int) -> None:
    assert resp.status_int == status, f"{name}: {resp.status} {resp.text[:300]}"
    assert resp.content_type == "application/json", f"{name}: {resp.content_type}"
    error = resp.json
    assert set(error) == {"message", "code", "title"}, error
    assert error["code"] == resp.status and error["title"] == resp.status.split(" ", 1)[1]
    # a long name or uri is never echoed whole (an unknown id is, as Glance and the other
    # image routes do: "No image found with ID …")
    if status != 404:
        assert len(error["message"]) < 1000, f"{name} echoes: {error['message'][:200]}"
    assert "Traceback" not in resp.text


def stage_chunked(world: World, data: Body, **headers: str) -> webob.Response:
    """PUT /stage with a body of no declared length (as a chunked one arrives)."""
    req = webob.Request.blank(f"/v2/images/{world.ids['q']}/stage", method="PUT")
    req.headers.update({**OCTETS, **headers})
    req.body_file = data  # webob: no Content-Length, read to EOF
    req.headers["Transfer-Encoding"] = "chunked"
    return req.get_response(world.api.app)


def test_chunked_stage_over_the_quota_is_413_and_changes_nothing(conf, clean_db, store_dir):
    api = client_with(conf, user_storage_quota="1KB")
    queued = new_image(api, name="q")
    world = World(api, {"q": queued["id"]}, clean_db, store_dir)
    before = world.state(streamed=True)
    check_error("over-quota", stage_chunked(world, Body(b"x" * 5000)), 413)
    assert world.state(streamed=True) == before


def test_at_least_a_hundred_cases():
    assert len(CASES) >= 100


class TestHostileImport:
    """One app and database for the class (``class_conf``): building the app and emptying the
    database were most of each case's time."""

    @pytest.mark.parametrize("name", list(CASES))
    def test_hostile_import_or_stage_is_refused_and_changes_nothing(self, world, name):
        case = CASES[name]
        before = world.state(case.streamed)
        resp = send(world.api.app, case, world.ids)
        check_error(name, resp, case.status)
        assert world.state(case.streamed) == before, f"{name} changed data"
        assert world.api.get(f"/v2/images/{world.ids['q']}").json["status"] == "queued"

    @pytest.mark.first_pass
    @pytest.mark.parametrize("accept", ["text/plain", "text/html"])
    @pytest.mark.parametrize("name", list(CASES))
    def test_hostile_import_or_stage_error_page_in_any_type(self, world, name, accept):
        """The same refusal as a page or as text: whatever the message quotes, it encodes.
        Rendering is the same on every engine: first pass only; the refusals and what they leave
        unchanged are checked on every engine (test_hostile_import_or_stage_is_refused...)."""
        case = CASES[name]
        case = dataclasses.replace(case, headers={**case.headers, "Accept": accept})
        resp = send(world.api.app, case, world.ids)
        assert resp.status_int == case.status, f"{name}: {resp.status}"
        assert resp.content_type == accept
        assert resp.status in resp.text[:200]

    @pytest.mark.parametrize(
        ("name", "status", "data", "headers"),
        [
            ("broken-mid-body", 400, Body(b"x" * 100_000, after=50_000, fail=OSError("gone")), {}),
            ("size-header-larger", 400, Body(b"x" * 1000), {"x-openstack-image-size": "1001"}),
            ("size-header-smaller", 400, Body(b"x" * 1000), {"x-openstack-image-size": "999"}),
            ("size-header-negative", 400, Body(b"x" * 1000), {"x-openstack-image-size": "-1000"}),
        ],
    )
    def test_hostile_chunked_stage_is_refused_and_changes_nothing(
        self, world, name, status, data, headers
    ):
        before = world.state(streamed=True)
        check_error(name, stage_chunked(world, data, **headers), status)
        assert world.state(streamed=True) == before, f"{name} changed data"

    def test_image_still_stages_and_imports_after_the_barrage(self, world):
        for case in CASES.values():
            send(world.api.app, case, world.ids)
        queued = world.ids["q"]
        assert dump_database(world.db_url)["tasks"] == []
        resp = world.api.request("PUT", f"/v2/images/{queued}/stage", raw=b"fine", headers=OCTETS)
        assert resp.status_int == 204, resp.text
        assert world.api.get(f"/v2/images/{queued}").json["status"] == "uploading"
