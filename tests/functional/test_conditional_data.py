"""Conditional requests on an image's data: ``If-Range`` on a download (a range only while the
data is still the one the client has part of) and ``If-Match`` on ``PUT /file`` and
``PUT /stage`` (the upload happens only to the image record the client last saw)."""

from __future__ import annotations

import hashlib
import os

import pytest

from tests.functional.test_image_etag import etag_of, rename
from tests.support.client import stored_files

DATA = os.urandom(5000)


@pytest.fixture
def image(api):
    image = api.create(name="d")
    assert api.put_file(image["id"], DATA).status_int == 204
    return image


def etag_of_data() -> str:
    return f'"{hashlib.sha512(DATA).hexdigest()}"'


def test_if_range_with_the_datas_etag_serves_the_range(api, image):
    resp = api.get(
        f"/v2/images/{image['id']}/file",
        headers={"Range": "bytes=10-19", "If-Range": etag_of_data()},
    )
    assert resp.status_int == 206 and resp.body == DATA[10:20]


@pytest.mark.parametrize(
    "if_range",
    [
        '"0000"',  # other data
        f"W/{etag_of_data()}",  # a weak tag never matches If-Range (RFC 9110 13.1.5)
        "Sun, 06 Dec 2026 10:00:00 GMT",  # a date: no Last-Modified to hold it against
        "garbage",
        "",
    ],
)
def test_if_range_that_does_not_match_serves_the_whole_data(api, image, if_range):
    resp = api.get(
        f"/v2/images/{image['id']}/file", headers={"Range": "bytes=10-19", "If-Range": if_range}
    )
    assert resp.status_int == 200 and resp.body == DATA
    assert "Content-Range" not in resp.headers


def test_if_range_does_not_rescue_an_unsatisfiable_range_from_a_match(api, image):
    resp = api.get(
        f"/v2/images/{image['id']}/file",
        headers={"Range": "bytes=90000-", "If-Range": etag_of_data()},
    )
    assert resp.status_int == 416


def test_put_file_with_a_stale_if_match_is_412_and_stores_nothing(api, store_dir):
    image = api.create(name="u")
    stale = etag_of(api, image["id"])
    assert rename(api, image["id"], "v").status_int == 200
    resp = api.put_file(image["id"], DATA, **{"If-Match": stale})
    assert resp.status_int == 412, resp.text
    shown = api.get(f"/v2/images/{image['id']}").json
    assert (shown["status"], shown["size"]) == ("queued", None)
    assert stored_files(store_dir) == []


def test_put_file_with_the_current_if_match_uploads(api):
    image = api.create(name="u")
    current = etag_of(api, image["id"])
    assert api.put_file(image["id"], DATA, **{"If-Match": current}).status_int == 204
    assert api.get(f"/v2/images/{image['id']}/file").body == DATA


def test_put_stage_with_a_stale_if_match_is_412(api):
    image = api.create(name="s")
    stale = etag_of(api, image["id"])
    assert rename(api, image["id"], "v").status_int == 200
    resp = api.request(
        "PUT",
        f"/v2/images/{image['id']}/stage",
        raw=DATA,
        headers={"Content-Type": "application/octet-stream", "If-Match": stale},
    )
    assert resp.status_int == 412, resp.text
    assert api.get(f"/v2/images/{image['id']}").json["status"] == "queued"
