"""Hostile ``If-Match`` / ``If-None-Match`` values: never a 500; a write whose ``If-Match``
names no current ETag is refused (412) and changes nothing; a read whose ``If-None-Match``
matches nothing gets the full answer."""

from __future__ import annotations

import json

import pytest

PATCH = "application/openstack-images-v2.1-json-patch"
HOSTILE = [
    "",
    " ",
    "garbage",
    '"',
    '"unterminated',
    'W/"',
    "W/",
    "W/*",
    "**",
    ",,,,",
    '"1" "2"',
    "1",
    '"\u00e9t\u00e9"',  # latin-1 text, as WSGI hands non-ASCII header bytes over
    "\u00e2\u0098\u0083",  # the UTF-8 bytes of a snowman, read as latin-1
    '"-1"',
    '"0"',
    '"99999999999999999999999999999999999999"',
    '"' + "9" * 4000 + '"',
    ", ".join(f'"{n}"' for n in range(1000, 3000)),
    "x" * 8000,
    '"1"\x00',
]


def rename(client, image_id, header):
    ops = [{"op": "replace", "path": "/name", "value": "changed"}]
    return client.request(
        "PATCH",
        f"/v2/images/{image_id}",
        raw=json.dumps(ops).encode(),
        headers={"Content-Type": PATCH, "If-Match": header},
    )


@pytest.mark.parametrize("header", HOSTILE)
def test_hostile_if_match_is_412_and_writes_nothing(api, header):
    image = api.create(name="a")
    path = f"/v2/images/{image['id']}"
    before = api.get(path).json
    assert rename(api, image["id"], header).status_int == 412
    assert api.delete(path, headers={"If-Match": header}).status_int == 412
    assert api.get(path).json == before


@pytest.mark.parametrize("header", HOSTILE)
def test_hostile_if_none_match_gets_the_image(api, header):
    image = api.create(name="a")
    resp = api.get(f"/v2/images/{image['id']}", headers={"If-None-Match": header})
    assert resp.status_int == 200 and resp.json["id"] == image["id"]


def test_a_weak_tag_of_the_current_revision_never_matches_if_match(api):
    image = api.create(name="a")
    etag = api.get(f"/v2/images/{image['id']}").headers["ETag"]
    assert rename(api, image["id"], f"W/{etag}").status_int == 412
    assert rename(api, image["id"], f"W/{etag}, {etag}").status_int == 200


@pytest.mark.parametrize("header", HOSTILE)
def test_hostile_if_range_gets_the_whole_data(api, header):
    image = api.create(name="a")
    assert api.put_file(image["id"], b"0123456789").status_int == 204
    resp = api.get(
        f"/v2/images/{image['id']}/file", headers={"Range": "bytes=2-3", "If-Range": header}
    )
    assert resp.status_int == 200 and resp.body == b"0123456789"


@pytest.mark.parametrize("header", HOSTILE)
def test_hostile_if_match_on_an_upload_is_412_and_stores_nothing(api, header):
    image = api.create(name="a")
    resp = api.put_file(image["id"], b"0123456789", **{"If-Match": header})
    assert resp.status_int == 412
    assert api.get(f"/v2/images/{image['id']}").json["status"] == "queued"
