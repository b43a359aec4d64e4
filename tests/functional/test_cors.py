"""oslo.middleware's CORS filter in front of the API (``[cors]``, Glance's default headers):
what a browser on Horizon's origin is told, and what every other origin is not."""

from __future__ import annotations

import pytest
import webob
from oslo_config import cfg

from tests.support.client import Client, client_with

# tools/test's first pass only: the CORS filter answers before anything reaches the database
pytestmark = pytest.mark.first_pass

HORIZON = "http://horizon.example.com:8080"
UPLOAD = "/v2/images/0a0b0c0d-0000-4000-8000-000000000001/file"


@pytest.fixture
def cors_api(conf: cfg.ConfigOpts) -> Client:
    return client_with(conf, **{"cors.allowed_origin": [HORIZON]})


def preflight(
    client: Client, origin: str, method: str = "PUT", headers: str = "x-auth-token"
) -> webob.Response:
    return client.request(
        "OPTIONS",
        UPLOAD,
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": method,
            "Access-Control-Request-Headers": headers,
        },
    )


def listed(value: str | None) -> set[str]:
    return {v.strip().lower() for v in (value or "").split(",") if v.strip()}


def test_preflight_of_a_direct_upload_from_the_allowed_origin(cors_api: Client) -> None:
    # what Horizon's direct mode sends before its PUT of the image data
    resp = preflight(cors_api, HORIZON, headers="content-type,x-auth-token")
    assert resp.status_int == 200
    assert resp.headers["Access-Control-Allow-Origin"] == HORIZON
    assert resp.headers["Access-Control-Allow-Credentials"] == "true"
    assert "PUT" in resp.headers["Access-Control-Allow-Methods"]
    assert {"content-type", "x-auth-token"} <= listed(resp.headers["Access-Control-Allow-Headers"])
    assert resp.headers["Access-Control-Max-Age"] == "3600"


@pytest.mark.parametrize(
    "header",
    [
        "Content-MD5",
        "X-Image-Meta-Checksum",
        "X-Storage-Token",
        "X-Identity-Status",
        "X-Roles",
        "X-Service-Catalog",
        "X-User-Id",
        "X-Tenant-Id",
        "X-OpenStack-Request-ID",
    ],
)
def test_glance_default_headers_are_allowed(cors_api: Client, header: str) -> None:
    resp = preflight(cors_api, HORIZON, headers=header)
    assert resp.headers["Access-Control-Allow-Origin"] == HORIZON
    assert header.lower() in listed(resp.headers["Access-Control-Allow-Headers"])


def test_actual_request_exposes_the_request_id(cors_api: Client) -> None:
    resp = cors_api.get("/v2/images", headers={"Origin": HORIZON})
    assert resp.status_int == 200
    assert resp.headers["Access-Control-Allow-Origin"] == HORIZON
    exposed = listed(resp.headers["Access-Control-Expose-Headers"])
    assert {"x-openstack-request-id", "x-image-meta-checksum", "x-subject-token"} <= exposed
    assert resp.headers["X-OpenStack-Request-ID"].startswith("req-")


@pytest.mark.parametrize(
    "origin",
    [
        "http://evil.example.com",
        "null",
        "http://horizon.example.com:8080.evil.com",
        "http://horizon.example.com",  # another port
        "https://horizon.example.com:8080",  # another scheme
        "http://horizon.example.com:8080/",
        "http://horizon.example.com:8080@evil.com",
        f"{HORIZON}, http://evil.example.com",
        "*",
        "",
        "\u00e9vil",
    ],
)
def test_other_origins_get_no_cors_headers(cors_api: Client, origin: str) -> None:
    for resp in (
        preflight(cors_api, origin),
        cors_api.get("/v2/images", headers={"Origin": origin}),
    ):
        assert resp.status_int < 500
        assert not any(h.lower().startswith("access-control-") for h in resp.headers), origin


@pytest.mark.parametrize(
    ("method", "headers"),
    [("TRACE", "x-auth-token"), ("PUT", "x-evil"), ("PUT", "x-auth-token,x-evil"), ("", "")],
)
def test_preflight_asking_for_more_than_allowed_is_not_granted(
    cors_api: Client, method: str, headers: str
) -> None:
    resp = preflight(cors_api, HORIZON, method=method, headers=headers)
    assert resp.status_int < 500
    assert "Access-Control-Allow-Origin" not in resp.headers


def test_no_origin_configured_no_cors(api: Client) -> None:
    resp = preflight(api, HORIZON)
    assert "Access-Control-Allow-Origin" not in resp.headers
    resp = api.get("/v2/images", headers={"Origin": HORIZON})
    assert resp.status_int == 200
    assert "Access-Control-Allow-Origin" not in resp.headers


def test_keystone_flavor_answers_the_preflight_without_a_token(conf: cfg.ConfigOpts) -> None:
    # loading the keystone flavor registers [keystone_authtoken]; the second load sets it
    client_with(conf, **{"paste_deploy.flavor": "keystone", "cors.allowed_origin": [HORIZON]})
    client = client_with(conf, **{"keystone_authtoken.www_authenticate_uri": "http://127.0.0.1:1"})
    resp = preflight(client, HORIZON)
    assert resp.status_int == 200
    assert resp.headers["Access-Control-Allow-Origin"] == HORIZON
    # a token-less request is still refused, and the browser may read that refusal
    resp = client.get("/v2/images", headers={"Origin": HORIZON})
    assert resp.status_int == 401
    assert resp.headers["Access-Control-Allow-Origin"] == HORIZON
