"""``GET /v2/images/{id}/file``."""

from __future__ import annotations

import hashlib

import pytest

from tests.support.client import UNKNOWN_ID, new_image

DATA = b"0123456789abcdef" * 1000


def test_download_returns_the_bytes_with_md5_and_length(api):
    image = new_image(api, DATA)
    resp = api.get(f"/v2/images/{image['id']}/file")
    assert resp.status_int == 200
    assert resp.content_type == "application/octet-stream"
    # Headers as the app sent them: reading resp.body first would make webob add a length.
    headers = dict(resp.headerlist)
    assert headers["Content-Length"] == str(len(DATA))
    assert headers["Content-MD5"] == hashlib.md5(DATA).hexdigest()
    assert headers["Content-MD5"] == image["checksum"]
    assert resp.body == DATA


def test_download_of_an_empty_image(api):
    image = new_image(api, b"")
    resp = api.get(f"/v2/images/{image['id']}/file")
    assert resp.status_int == 200
    headers = dict(resp.headerlist)
    assert headers["Content-Length"] == "0"
    assert headers["Content-MD5"] == hashlib.md5(b"").hexdigest()
    assert resp.body == b""


def test_download_of_a_queued_image_is_checked_by_policy_first(api):
    """Glance checks ``download_image`` before it answers that there is no data (issue 15,
    finding 7): a reader, who may not download, learns 403, not 204."""
    image = api.as_("p1").create(name="nodata")
    resp = api.as_("p1", roles="reader").get(f"/v2/images/{image['id']}/file")
    assert resp.status_int == 403
    assert "download_image" in resp.text
    assert api.as_("p1").get(f"/v2/images/{image['id']}/file").status_int == 204


def test_download_of_a_queued_image_is_204(api):
    image = api.create(name="nodata")
    resp = api.get(f"/v2/images/{image['id']}/file")
    assert resp.status_int == 204
    assert resp.body == b""
    assert "Content-MD5" not in resp.headers


@pytest.mark.parametrize("image_id", [UNKNOWN_ID, "not-a-uuid"])
def test_download_of_unknown_image_is_404(api, image_id):
    resp = api.get(f"/v2/images/{image_id}/file")
    assert resp.status_int == 404
    assert f"No image found with ID {image_id}" in resp.text


def test_download_refuses_a_body(api):
    image = new_image(api, DATA)
    resp = api.request("GET", f"/v2/images/{image['id']}/file", raw=b"x")
    assert resp.status_int == 400
    assert "A body is not expected with this request." in resp.text


def test_download_visibility_and_roles(api):
    private = new_image(api.as_("p1"), DATA, visibility="private")["id"]
    public = new_image(api, DATA, visibility="public", owner="p1")["id"]
    assert api.as_("p2").get(f"/v2/images/{private}/file").status_int == 404
    assert api.as_("p2").get(f"/v2/images/{public}/file").body == DATA
    assert api.as_("p1").get(f"/v2/images/{private}/file").body == DATA
    reader = api.as_("p1", roles="reader")
    assert reader.get(f"/v2/images/{private}").status_int == 200
    resp = reader.get(f"/v2/images/{private}/file")
    assert resp.status_int == 403
    assert "download_image" in resp.text
