"""Range downloads, as Glance answers them (glance-api.md §2.3)."""

from __future__ import annotations

import hashlib

import pytest

# tools/test's first pass only: ranges are cut from the store's data; the rows they read are the
# same on every engine
pytestmark = pytest.mark.first_pass

DATA = bytes(range(256)) * 4  # 1024 bytes


@pytest.fixture
def image(api):
    image = api.create(name="r")
    assert api.put_file(image["id"], DATA).status_int == 204
    return image


@pytest.mark.parametrize(
    ("header", "first", "last"),
    [
        ("bytes=0-4", 0, 4),
        ("bytes=10-", 10, 1023),
        ("bytes=-5", 1019, 1023),
        ("bytes=1019-2000", 1019, 1023),
        ("bytes=0-1023", 0, 1023),
    ],
)
def test_satisfiable_ranges(api, image, header, first, last):
    resp = api.get(f"/v2/images/{image['id']}/file", headers={"Range": header})
    assert resp.status_int == 206
    assert resp.body == DATA[first : last + 1]
    assert resp.headers["Content-Range"] == f"bytes {first}-{last}/1024"
    assert int(resp.headers["Content-Length"]) == last - first + 1
    assert resp.headers["Content-MD5"] == hashlib.md5(DATA).hexdigest()


@pytest.mark.parametrize("header", ["bytes=1024-", "bytes=5-2", "garbage", "bytes=-0", "bytes=-"])
def test_unsatisfiable_ranges_are_416(api, image, header):
    resp = api.get(f"/v2/images/{image['id']}/file", headers={"Range": header})
    assert resp.status_int == 416
    assert resp.headers["Content-Range"] == "bytes */1024"


def test_multiple_ranges_are_400(api, image):
    resp = api.get(f"/v2/images/{image['id']}/file", headers={"Range": "bytes=0-1,3-4"})
    assert resp.status_int == 400


def test_legacy_content_range_request_header(api, image):
    resp = api.get(f"/v2/images/{image['id']}/file", headers={"Content-Range": "bytes 2-5/1024"})
    assert resp.status_int == 206 and resp.body == DATA[2:6]


def test_reader_may_show_but_not_download(api):
    image = api.create(name="pub", visibility="public")
    assert api.put_file(image["id"], DATA).status_int == 204
    reader = api.as_("p9", roles="reader")
    assert reader.get(f"/v2/images/{image['id']}").status_int == 200
    assert reader.get(f"/v2/images/{image['id']}/file").status_int == 403
    assert api.as_("p9").get(f"/v2/images/{image['id']}/file").body == DATA
