"""Version negotiation: the versions document and ``/v2.N`` paths."""

from __future__ import annotations

import pytest

from imgreg.conf.store import backend_opts, store_opts
from tests.support.client import client_with

# tools/test's first pass only: the versions documents come from no database
pytestmark = pytest.mark.first_pass

OLDER = [f"v2.{m}" for m in range(7, -1, -1)]
EXPECTED_IDS = ["v2.17", "v2.15", "v2.13", "v2.12", "v2.9", *OLDER]
MULTISTORE_IDS = ["v2.17", "v2.15", "v2.13", "v2.12", "v2.11", "v2.10", "v2.9", "v2.8", *OLDER]


def check_document(resp, status: int, expected: list[str] = EXPECTED_IDS) -> None:
    assert resp.status_int == status
    assert resp.content_type == "application/json"
    versions = resp.json["versions"]
    assert [v["id"] for v in versions] == expected
    assert [v["status"] for v in versions].count("CURRENT") == 1
    assert versions[0]["status"] == "CURRENT"
    assert all(v["status"] == "SUPPORTED" for v in versions[1:])
    for version in versions:
        assert version["links"] == [{"rel": "self", "href": "http://localhost/v2/"}]


def test_root_answers_300_with_the_versions_document(api):
    check_document(api.get("/"), 300)


def test_versions_path_answers_200(api):
    check_document(api.get("/versions"), 200)


@pytest.mark.parametrize(
    "path", ["/v3/", "/v3/images", "/images", "/v2.16/images", "/v2.10/images", "/v1/images"]
)
def test_unknown_versions_and_unversioned_paths_answer_300(api, path):
    check_document(api.get(path), 300)


@pytest.mark.parametrize("prefix", ["/v2", "/v2.0", "/v2.6", "/v2.9", "/v2.12", "/v2.15", "/v2.17"])
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


def test_several_stores_add_the_multi_store_versions(conf, tmp_path):
    conf.register_opts(store_opts + backend_opts, group="a")
    conf.register_opts(store_opts + backend_opts, group="b")
    for store_id in ("a", "b"):
        path = str(tmp_path / store_id)
        conf.set_override("filesystem_store_datadir", path, group=store_id)
    conf.set_override("enabled_backends", {"a": "file", "b": "file"})
    conf.set_override("default_backend", "a", group="glance_store")
    client = client_with(conf)
    check_document(client.get("/versions"), 200, MULTISTORE_IDS)
    assert client.get("/v2.10/images").status_int == 200
    assert client.get("/v2.8/images").status_int == 200


CACHE_IDS = ["v2.18", "v2.17", "v2.16", "v2.15", "v2.14", "v2.13", "v2.12", "v2.9", *OLDER]


def test_the_cache_adds_its_versions_and_makes_2_18_current(conf, tmp_path):
    client = client_with(conf, image_cache_dir=str(tmp_path / "cache"))
    check_document(client.get("/versions"), 200, CACHE_IDS)
    check_document(client.get("/"), 300, CACHE_IDS)
    for prefix in ("/v2.14", "/v2.16", "/v2.18"):
        assert client.get(f"{prefix}/images").status_int == 200
        assert client.get(f"{prefix}/cache").status_int == 200


@pytest.mark.parametrize("prefix", ["/v2.14", "/v2.16", "/v2.18"])
def test_without_the_cache_its_versions_are_not_served(api, prefix):
    check_document(api.get(f"{prefix}/images"), 300)
    check_document(api.get(f"{prefix}/cache"), 300)
