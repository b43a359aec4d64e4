"""``GET /v2/images``: paging, links, limits, markers, and who sees what."""

from __future__ import annotations

import urllib.parse

import pytest

from tests.support.client import UNKNOWN_ID, client_with, listed_ids


def make_images(client, count: int) -> list[str]:
    """Create ``count`` images; their ids in the default order (created_at desc, id desc)."""
    images = [client.create(name=f"img{i}") for i in range(count)]
    images.sort(key=lambda i: (i["created_at"], i["id"]), reverse=True)
    return [i["id"] for i in images]


def query_of(link: str) -> dict[str, list[str]]:
    path, _, query = link.partition("?")
    assert path == "/v2/images"
    return urllib.parse.parse_qs(query)


def test_empty_list(api):
    resp = api.get("/v2/images")
    assert resp.status_int == 200
    assert resp.json == {"images": [], "first": "/v2/images", "schema": "/v2/schemas/images"}


def test_pages_follow_next_until_a_short_page(api):
    ordered = make_images(api, 5)
    assert len(ordered) == 5
    page = api.get("/v2/images?limit=2").json
    assert [i["id"] for i in page["images"]] == ordered[:2]
    assert page["first"] == "/v2/images?limit=2"
    assert page["schema"] == "/v2/schemas/images"
    assert query_of(page["next"]) == {"limit": ["2"], "marker": [ordered[1]]}
    page = api.get(page["next"]).json
    assert [i["id"] for i in page["images"]] == ordered[2:4]
    assert page["first"] == "/v2/images?limit=2"
    page = api.get(page["next"]).json
    assert [i["id"] for i in page["images"]] == ordered[4:]
    assert "next" not in page


def test_a_full_last_page_has_a_next_that_leads_to_an_empty_page(api):
    ordered = make_images(api, 2)
    page = api.get("/v2/images?limit=2").json
    assert [i["id"] for i in page["images"]] == ordered
    last = api.get(page["next"]).json
    assert last["images"] == []
    assert "next" not in last


def test_next_keeps_the_other_query_parameters(api):
    make_images(api, 3)
    # (an unknown key would be a property filter, so use one that keeps every image)
    page = api.get("/v2/images?limit=1&os_hidden=false").json
    query = query_of(page["next"])
    assert query["os_hidden"] == ["false"]
    assert query["limit"] == ["1"]
    assert query_of(page["first"]) == {"limit": ["1"], "os_hidden": ["false"]}


def test_default_page_size_is_limit_param_default(conf):
    client = client_with(conf, limit_param_default=2)
    ordered = make_images(client, 3)
    page = client.get("/v2/images").json
    assert [i["id"] for i in page["images"]] == ordered[:2]
    assert query_of(page["next"]) == {"marker": [ordered[1]]}


def test_limit_is_clamped_to_api_limit_max(conf):
    client = client_with(conf, api_limit_max=2)
    ordered = make_images(client, 3)
    page = client.get("/v2/images?limit=50").json
    assert [i["id"] for i in page["images"]] == ordered[:2]
    assert query_of(page["next"])["marker"] == [ordered[1]]


def test_limit_zero_is_an_empty_page_without_next(api):
    make_images(api, 2)
    page = api.get("/v2/images?limit=0").json
    assert page["images"] == []
    assert "next" not in page
    assert page["first"] == "/v2/images?limit=0"


@pytest.mark.parametrize("limit", ["abc", "-1", "1.5", ""])
def test_bad_limit_is_400(api, limit):
    resp = api.get(f"/v2/images?limit={limit}")
    assert resp.status_int == 400
    assert "limit" in resp.text


@pytest.mark.parametrize("marker", [UNKNOWN_ID, "not-a-uuid"])
def test_unknown_marker_is_400(api, marker):
    api.create(name="x")
    resp = api.get(f"/v2/images?marker={marker}")
    assert resp.status_int == 400
    assert "marker" in resp.text.lower()


def test_marker_of_a_deleted_image_is_400(api):
    gone = api.create(name="gone")["id"]
    api.create(name="kept")
    assert api.delete(f"/v2/images/{gone}").status_int == 204
    assert api.get(f"/v2/images?marker={gone}").status_int == 400


def test_deleted_images_are_not_listed(api):
    kept = api.create(name="kept")["id"]
    gone = api.create(name="gone")["id"]
    api.delete(f"/v2/images/{gone}")
    assert listed_ids(api) == [kept]


@pytest.fixture
def population(api):
    """Images of two projects and the admin, by name."""
    p1, p2 = api.as_("p1"), api.as_("p2")
    return {
        "public": api.create(name="public", visibility="public", owner="p2")["id"],
        "p1_private": p1.create(name="p1_private", visibility="private")["id"],
        "p1_shared": p1.create(name="p1_shared")["id"],
        "p2_private": p2.create(name="p2_private", visibility="private")["id"],
        "p2_shared": p2.create(name="p2_shared")["id"],
        "p2_community": p2.create(name="p2_community", visibility="community")["id"],
    }


def names(client, population) -> set[str]:
    by_id = {v: k for k, v in population.items()}
    return {by_id[i] for i in listed_ids(client)}


def test_project_sees_public_and_its_own_images(api, population):
    assert names(api.as_("p1"), population) == {"public", "p1_private", "p1_shared"}
    assert names(api.as_("p2"), population) == {"public", "p2_private", "p2_shared", "p2_community"}
    assert names(api.as_("p3"), population) == {"public"}


def test_reader_lists_like_a_member(api, population):
    assert names(api.as_("p1", roles="reader"), population) == {"public", "p1_private", "p1_shared"}


def test_admin_without_identity_headers_sees_every_listed_image(api, population):
    assert names(api, population) == {
        "public",
        "p1_private",
        "p1_shared",
        "p2_private",
        "p2_shared",
    }
    assert names(api.as_("p9", roles="admin"), population) == names(api, population)


def test_paging_stays_within_the_visible_set(api, population):
    client = api.as_("p1")
    seen, link = [], "/v2/images?limit=1"
    while link:
        page = client.get(link).json
        seen += [i["id"] for i in page["images"]]
        link = page.get("next")
    assert sorted(seen) == sorted(population[k] for k in ("public", "p1_private", "p1_shared"))
