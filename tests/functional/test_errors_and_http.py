"""HTTP rules every route follows: 405 + Allow, 404, request ids, and error bodies."""

from __future__ import annotations

import json
import re

import pytest

from tests.support.client import UNKNOWN_ID, client_with

# tools/test's first pass only: routing and error bodies do not depend on the engine; what an
# engine refuses is sent on every engine by test_hostile_input.py
pytestmark = pytest.mark.first_pass

IMAGE = f"/v2/images/{UNKNOWN_ID}"
ROUTES = [
    ("/v2/schemas/image", "GET", ["POST", "PUT", "PATCH", "DELETE", "HEAD"]),
    ("/v2/schemas/images", "GET", ["POST", "PUT", "PATCH", "DELETE", "HEAD"]),
    ("/v2/images", "GET, POST", ["PUT", "PATCH", "DELETE", "HEAD"]),
    (IMAGE, "GET, PATCH, DELETE, HEAD", ["POST", "PUT"]),
    (f"{IMAGE}/file", "GET, PUT, HEAD", ["POST", "PATCH", "DELETE"]),
]
GENERATED_ID = re.compile(r"^req-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


@pytest.mark.parametrize(
    ("path", "allow", "method"),
    [(path, allow, method) for path, allow, methods in ROUTES for method in methods],
)
def test_methods_not_listed_are_405_with_allow(api, path, allow, method):
    resp = api.request(method, path)
    assert resp.status_int == 405
    assert resp.headers["Allow"] == allow
    if method != "HEAD":
        assert resp.text.startswith("405 Method Not Allowed")


def test_405_does_not_touch_the_image(api):
    image = api.create(name="x")
    assert api.request("PUT", f"/v2/images/{image['id']}", body={"name": "y"}).status_int == 405
    assert api.get(f"/v2/images/{image['id']}").json["name"] == "x"


@pytest.mark.parametrize(
    "path",
    ["/v2/nothing", "/v2/images/x/y/z", f"{IMAGE}/files", "/v2/schemas/nothing", "/v2/"],
)
def test_unknown_paths_under_v2_are_404(api, path):
    resp = api.get(path)
    assert resp.status_int == 404
    assert resp.text.startswith("404 Not Found")


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/"),
        ("GET", "/versions"),
        ("GET", "/v2/images"),
        ("GET", IMAGE),
        ("DELETE", "/v2/images"),
        ("GET", "/v2/nowhere"),
        ("POST", "/v2/images"),
    ],
)
def test_every_response_carries_a_generated_request_id(api, method, path):
    resp = api.request(method, path)
    assert GENERATED_ID.match(resp.headers["x-openstack-request-id"])


def test_generated_request_ids_differ(api):
    first = api.get("/v2/images").headers["x-openstack-request-id"]
    second = api.get("/v2/images").headers["x-openstack-request-id"]
    assert first != second


@pytest.mark.parametrize("given", ["req-client-1", "abc", "a" * 64, "x.y:z_1-2"])
def test_well_formed_client_request_id_is_echoed(api, given):
    for path in ("/v2/images", IMAGE, "/"):
        resp = api.get(path, headers={"X-Openstack-Request-Id": given})
        assert resp.headers["x-openstack-request-id"] == given


@pytest.mark.parametrize(
    "given", ["a" * 65, "bad id", "bad\r\nSet-Cookie: x=1", "tab\there", "ünï", "<script>"]
)
def test_unacceptable_client_request_id_is_replaced(api, given):
    resp = api.get("/v2/images", headers={"X-Openstack-Request-Id": given})
    assert resp.status_int == 200
    assert GENERATED_ID.match(resp.headers["x-openstack-request-id"])
    assert "Set-Cookie" not in resp.headers


def test_request_id_limit_follows_max_request_id_length(conf):
    client = client_with(conf, max_request_id_length=10)
    assert (
        client.get("/", headers={"X-Openstack-Request-Id": "a" * 10}).headers[
            "x-openstack-request-id"
        ]
        == "a" * 10
    )
    replaced = client.get("/", headers={"X-Openstack-Request-Id": "a" * 11})
    assert GENERATED_ID.match(replaced.headers["x-openstack-request-id"])


def test_error_without_accept_is_plain_text(api):
    resp = api.get(IMAGE)
    assert resp.status_int == 404
    assert resp.content_type == "text/plain"
    assert resp.text == f"404 Not Found\n\nNo image found with ID {UNKNOWN_ID}\n\n   "


@pytest.mark.parametrize("accept", ["*/*", "text/html", "text/html, application/json;q=0.5"])
def test_error_for_browsers_and_glanceclient_is_html(api, accept):
    resp = api.get(IMAGE, headers={"Accept": accept})
    assert resp.status_int == 404
    assert resp.content_type == "text/html"
    assert resp.text.startswith("<html>")
    assert "<title>404 Not Found</title>" in resp.text
    assert "<h1>404 Not Found</h1>" in resp.text
    assert f"No image found with ID {UNKNOWN_ID}<br /><br />" in resp.text


def test_html_error_escapes_the_message(api):
    resp = api.get("/v2/images/<b>x", headers={"Accept": "*/*"})
    assert resp.status_int == 404
    assert "<b>x" not in resp.text
    assert "No image found with ID &lt;b&gt;x<br />" in resp.text


def test_error_as_json_when_asked(api):
    resp = api.get(IMAGE, headers={"Accept": "application/json"})
    assert resp.status_int == 404
    assert resp.content_type == "application/json"
    assert json.loads(resp.text) == {
        "message": f"No image found with ID {UNKNOWN_ID}",
        "code": "404 Not Found",
        "title": "Not Found",
    }


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [("POST", "/v2/images", 400), ("PUT", "/v2/images", 405), ("GET", "/v2/nowhere", 404)],
)
def test_every_error_follows_accept(api, method, path, status):
    raw = b"[" if method == "POST" else None
    plain = api.request(method, path, raw=raw)
    assert plain.status_int == status
    assert plain.content_type == "text/plain"
    assert plain.text.startswith(f"{status} ")
    as_json = api.request(method, path, raw=raw, headers={"Accept": "application/json"})
    assert as_json.status_int == status
    assert as_json.json["code"].startswith(f"{status} ")
    assert set(as_json.json) == {"message", "code", "title"}


def test_unacceptable_accept_falls_back_to_plain_text(api):
    resp = api.get(IMAGE, headers={"Accept": "image/png"})
    assert resp.status_int == 404
    assert resp.content_type == "text/plain"
    assert resp.text.startswith("404 Not Found")
