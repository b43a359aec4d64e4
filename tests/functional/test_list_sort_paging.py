"""``GET /v2/images`` sorting, paging and links (Glance §2.6), through the whole app."""

from __future__ import annotations

import datetime as dt
import itertools
import urllib.parse
from typing import Any

import pytest
from sqlalchemy import update

from imgreg.db.models import ImageRow
from imgreg.services import wiring
from tests.support.client import UNKNOWN_ID, client_with, listed_ids

T0 = dt.datetime(2026, 1, 1)


def set_row(image_id: str, **values: Any) -> None:
    with wiring.services().db.engine.begin() as conn:
        conn.execute(update(ImageRow).where(ImageRow.id == image_id).values(**values))


def page(client, query: str) -> dict[str, Any]:
    resp = client.get(f"/v2/images{query}")
    assert resp.status_int == 200, resp.text
    return resp.json


def query_of(link: str) -> list[tuple[str, str]]:
    path, _, query = link.partition("?")
    assert path == "/v2/images"
    return urllib.parse.parse_qsl(query, keep_blank_values=True)


def walk(client, query: str) -> tuple[list[dict[str, Any]], int]:
    """Follow ``next`` from ``/v2/images?query``; (every image seen, pages fetched)."""
    seen: list[dict[str, Any]] = []
    link: str | None = f"/v2/images?{query}"
    pages = 0
    while link:
        body = page(client, link.removeprefix("/v2/images"))
        seen += body["images"]
        link = body.get("next")
        pages += 1
        assert pages < 100, "paging does not end"
    return seen, pages


# -- sort -----------------------------------------------------------------------------------


@pytest.fixture
def sortable(api):
    """Five images; ``created_at`` one second apart so the default order is known."""
    rows = [("b", 30), ("a", None), (None, 10), ("c", 10), ("a", 20)]
    ids = []
    for i, (name, size) in enumerate(rows):
        image_id = api.create(name=f"tmp{i}")["id"]
        set_row(image_id, name=name, size=size, created_at=T0 + dt.timedelta(seconds=i))
        ids.append(image_id)
    return api, ids


def test_default_sort_is_newest_first(sortable):
    api, ids = sortable
    assert listed_ids(api) == ids[::-1]
    assert listed_ids(api, "?sort_dir=asc") == ids


def test_sort_by_name_nulls_as_empty(sortable):
    api, ids = sortable
    # asc: null name first; the two "a" by created_at (the tie-breaker takes sort_dir: asc)
    assert listed_ids(api, "?sort_key=name&sort_dir=asc") == [ids[i] for i in (2, 1, 4, 0, 3)]
    # desc: ties broken by created_at desc
    assert listed_ids(api, "?sort_key=name") == [ids[i] for i in (3, 0, 4, 1, 2)]
    assert listed_ids(api, "?sort=name:asc") == [ids[i] for i in (2, 1, 4, 0, 3)]


def test_sort_by_size_nulls_as_zero(sortable):
    api, ids = sortable
    assert listed_ids(api, "?sort=size:asc,name:asc") == [ids[i] for i in (1, 2, 3, 4, 0)]
    assert listed_ids(api, "?sort_key=size&sort_key=name&sort_dir=desc&sort_dir=desc") == [
        ids[i] for i in (0, 4, 3, 2, 1)
    ]


def test_new_syntax_missing_direction_is_desc(sortable):
    api, ids = sortable
    assert listed_ids(api, "?sort=size,name:asc") == [ids[i] for i in (0, 4, 2, 3, 1)]


def test_one_sort_dir_applies_to_every_key(sortable):
    api, ids = sortable
    assert listed_ids(api, "?sort_key=name&sort_key=size&sort_dir=asc") == [
        ids[i] for i in (2, 1, 4, 0, 3)
    ]


def test_ties_fall_back_to_created_at_then_id(api):
    ids = [api.create(name="same")["id"] for _ in range(4)]
    for image_id in ids:
        set_row(image_id, created_at=T0)
    assert listed_ids(api, "?sort_key=name") == sorted(ids, reverse=True)
    assert listed_ids(api, "?sort_key=name&sort_dir=asc") == sorted(ids)
    assert listed_ids(api, "?sort=status:asc,name:desc") == sorted(ids, reverse=True)


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("?sort_key=owner", "Invalid sort key: owner"),
        ("?sort_key=os_distro", "Invalid sort key: os_distro"),
        ("?sort=visibility:asc", "Invalid sort key: visibility"),
        ("?sort_dir=upwards", "Invalid sort direction: upwards"),
        ("?sort=name:upwards", "Invalid sort direction: upwards"),
        (
            "?sort_key=name&sort_key=size&sort_key=id&sort_dir=asc&sort_dir=desc",
            "Number of sort dirs does not match the number of sort keys",
        ),
        ("?sort=name&sort_key=size", "Old and new sorting syntax cannot be combined"),
        ("?sort=name&sort_dir=asc", "Old and new sorting syntax cannot be combined"),
    ],
)
def test_bad_sort_is_400(api, query, message):
    resp = api.get(f"/v2/images{query}")
    assert resp.status_int == 400
    assert message in resp.text


# -- limit, marker, links -------------------------------------------------------------------


def test_limit_default_clamp_and_zero(conf):
    client = client_with(conf, limit_param_default=3, api_limit_max=4)
    for i in range(6):
        client.create(name=f"i{i}")
    assert len(page(client, "")["images"]) == 3
    assert len(page(client, "?limit=100")["images"]) == 4
    body = page(client, "?limit=0")
    assert body["images"] == []
    assert "next" not in body


@pytest.mark.parametrize("limit", ["x", "-1", "2.0", ""])
def test_bad_limit_is_400(api, limit):
    assert api.get(f"/v2/images?limit={limit}").status_int == 400


def test_links(api):
    ids = [api.create(name="n", tags=["a", "b"])["id"] for _ in range(3)]
    query = "limit=2&tag=a&tag=b&sort_key=name&sort_dir=asc&name=n"
    body = page(api, f"?{query}")
    assert body["schema"] == "/v2/schemas/images"
    first = [
        ("limit", "2"),
        ("tag", "a"),
        ("tag", "b"),
        ("sort_key", "name"),
        ("sort_dir", "asc"),
        ("name", "n"),
    ]
    assert query_of(body["first"]) == first
    last = body["images"][-1]["id"]
    assert query_of(body["next"]) == [*first, ("marker", last)]
    second = page(api, body["next"].removeprefix("/v2/images"))
    assert query_of(second["first"]) == first  # the marker is dropped from "first"
    assert "next" not in second
    assert {i["id"] for i in body["images"] + second["images"]} == set(ids)


def test_an_exactly_full_last_page_still_has_next(api):
    for _ in range(2):
        api.create(name="x")
    body = page(api, "?limit=2")
    assert "next" in body
    assert page(api, body["next"].removeprefix("/v2/images"))["images"] == []


def test_unknown_and_invisible_markers_are_refused_alike(api):
    secret = api.create(name="secret", owner="p2", visibility="private")["id"]
    p1 = api.as_("p1")
    p1.create(name="mine")
    unknown = p1.get(f"/v2/images?marker={UNKNOWN_ID}")
    invisible = p1.get(f"/v2/images?marker={secret}")
    assert (unknown.status_int, invisible.status_int) == (400, 400)
    assert unknown.text.replace(UNKNOWN_ID, "ID") == invisible.text.replace(secret, "ID")
    assert "Invalid marker" in invisible.text
    assert api.get(f"/v2/images?marker={secret}").status_int == 200  # the admin sees it
    assert p1.get("/v2/images?marker=not-an-id").status_int == 400


def test_a_visible_marker_need_not_match_the_filters(api):
    p1 = api.as_("p1")
    other = api.create(name="theirs", owner="p2", visibility="community")["id"]
    hidden = p1.create(name="hidden", os_hidden=True)["id"]
    mine = p1.create(name="mine")["id"]
    set_row(other, created_at=T0 + dt.timedelta(seconds=2))
    set_row(hidden, created_at=T0 + dt.timedelta(seconds=3))
    set_row(mine, created_at=T0 + dt.timedelta(seconds=1))
    assert listed_ids(p1, f"?marker={other}") == [mine]
    assert listed_ids(p1, f"?marker={hidden}") == [mine]


# -- walking next over many images with null names and sizes --------------------------------

SORTS = [
    "",
    "sort_key=name&sort_dir=asc",
    "sort_key=name",
    "sort=name:desc,size:asc",
    "sort=size:asc",
    "sort_key=size&sort_key=name&sort_dir=desc&sort_dir=asc",
    "sort=disk_format:asc,name:desc",
    "sort=container_format,size:asc",
    "sort=status:asc,size",
    "sort=updated_at:asc",
    "sort_key=id&sort_dir=asc",
    "sort_key=created_at&sort_dir=asc",
    "sort=name:asc,created_at:asc,id:desc",
]


@pytest.fixture
def crowd(api):
    """40 images; names, sizes and formats null or repeated, only 3 distinct created_at."""
    names = itertools.cycle([None, "a", "b", None, "a", "c", "b", "a", None])
    sizes = itertools.cycle([None, 0, 7, None, 7, 3, None, 100])
    formats = itertools.cycle([None, "raw", "qcow2", "raw"])
    ids = []
    for i in range(40):
        image_id = api.create(name="tmp", owner=f"p{i % 3}", visibility="shared")["id"]
        set_row(
            image_id,
            name=next(names),
            size=next(sizes),
            disk_format=next(formats),
            container_format=None if i % 5 == 0 else "bare",
            status="active" if i % 2 else "queued",
            created_at=T0 + dt.timedelta(seconds=i % 3),
            updated_at=T0 + dt.timedelta(seconds=i % 4),
        )
        ids.append(image_id)
    return api, ids


@pytest.mark.parametrize("sort", SORTS)
def test_walking_next_returns_every_image_once_in_order(crowd, sort):
    api, ids = crowd
    whole = [i["id"] for i in page(api, f"?limit=1000&{sort}")["images"]]
    assert sorted(whole) == sorted(ids)
    for limit in (1, 6, 7):
        seen, pages = walk(api, f"limit={limit}&{sort}")
        assert [i["id"] for i in seen] == whole, f"limit={limit}"
        assert pages == len(ids) // limit + 1


def test_sorted_walk_is_really_sorted(crowd):
    api, _ids = crowd
    seen, _pages = walk(api, "limit=6&sort=name:asc,size:desc")
    keys = [(i["name"] or "", -(i["size"] or 0)) for i in seen]
    assert keys == sorted(keys)


def test_walking_as_a_project_stays_within_what_it_sees(crowd):
    api, ids = crowd
    p1 = api.as_("p1")
    expected = [i["id"] for i in page(api, "?limit=1000&owner=p1&sort=name:asc")["images"]]
    assert len(expected) == len([i for i in range(len(ids)) if i % 3 == 1])
    seen, _pages = walk(p1, "limit=4&sort=name:asc")
    assert [i["id"] for i in seen] == expected
