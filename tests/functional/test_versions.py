"""Version negotiation: the versions document and ``/v2.N`` paths."""

from __future__ import annotations

import pytest

from tests.support.client import client_with

EXPECTED_IDS = ["v2.15", "v2.13", "v2.12", "v2.9", *(f"v2.{m}" for m in range(7, -1, -1))]


def check_document(resp, status: int) -> None:
    assert resp.status_int == status
    assert resp.content_type == "application/json"
    versions = resp.json["versions"]
    assert [v["id"] for v in versions] == EXPECTED_IDS
    assert [v["status"] for v in versions].count("CURRENT") == 1
    assert versions[0]["status"] == "CURRENT"
    assert all(v["status"] == "SUPPORTED" for v in versions[1:])
    for version in versions:
        assert version["links"] == [{"rel": "self", "href": "http://localhost/v2/"}]


def test_root_answers_300_with_the_versions_document(api):
    check_document(api.get("/"), 300)


def test_versions_path_answers_200(api):
    check_document(api.get("/versions"), 200)


@pytest.mark.parametrize("path", ["/v3/", "/v3/images", "/images", "/v2.16/images", "/v1/images"])
def test_unknown_versions_and_unversioned_paths_answer_300(api, path):
    check_document(api.get(path), 300)


@pytest.mark.parametrize("prefix", ["/v2", "/v2.0", "/v2.6", "/v2.9", "/v2.12", "/v2.15"])
def test_advertised_minor_versions_reach_the_api(api, prefix):
    image = api.create(name="versioned")
    resp = api.get(f"{prefix}/images")
    assert resp.status_int == 200
    assert [i["id"] for i in resp.json["images"]] == [image["id"]]
    assert api.get(f"{prefix}/images/{image['id']}").json["name"] == "versioned"


def test_public_endpoint_is_the_base_of_version_links(conf):
    client = client_with(conf, public_endpoint="https://images.example.org/")
    links = [v["links"][0]["href"] for v in client.get("/versions").json["versions"]]
    assert set(links) == {"https://images.example.org/v2/"}
