"""python-glanceclient's location calls against ``imgreg-api`` with
``show_multiple_locations``: what Nova's ``_add_location`` does (``add_image_location``, then
``add_location`` when the server does not offer 2.17), ``update_location``, and a hostile URL."""

from __future__ import annotations

import time

import pytest
from glanceclient import Client as GlanceClient
from glanceclient import exc

# tools/test's first pass only (SQLite, ``first_pass``): the location rules and their rows are
# tested on every engine by tests/functional/test_location_api.py
pytestmark = pytest.mark.first_pass

DATA = b"nova direct snapshot" * 64


@pytest.fixture
def server_options() -> dict[str, object]:
    return {"show_multiple_locations": "true"}


def nova_add_location(client: GlanceClient, image_id: str, url: str) -> None:
    """nova/image/glance.py ``_add_location``: the 2.17 call first, then the legacy one."""
    for method in ("add_image_location", "add_location"):
        try:
            if method == "add_image_location":
                client.images.add_image_location(image_id, url, {})
            else:
                client.images.add_location(image_id, url, {})
            return
        except exc.HTTPNotImplemented:
            continue
    raise AssertionError("no location method worked")


@pytest.mark.e2e
def test_nova_add_location_then_update_and_hostile(server):
    client = GlanceClient("2", endpoint=server.url, token="anything")
    image = client.images.create(name="snap", disk_format="raw", container_format="bare")
    (server.store_dir / image["id"]).write_bytes(DATA)
    url = f"file://{server.store_dir.resolve()}/{image['id']}"
    nova_add_location(client, image["id"], url)
    for _ in range(100):
        shown = client.images.get(image["id"])
        if shown["status"] == "active":
            break
        time.sleep(0.1)  # 2.17 (once /versions offers it) activates in the background
    assert shown["status"] == "active" and shown["size"] == len(DATA)
    assert b"".join(client.images.data(image["id"])) == DATA

    shown = client.images.update_location(image["id"], url, {"purpose": "boot"})
    assert shown["locations"] == [{"url": url, "metadata": {"purpose": "boot"}}]

    other = client.images.create(name="victim", disk_format="raw", container_format="bare")
    with pytest.raises(exc.HTTPBadRequest):
        client.images.add_location(other["id"], url, {})  # another image's data
    with pytest.raises(exc.HTTPBadRequest):
        client.images.add_location(other["id"], "http://169.254.169.254/latest/meta-data/", {})
    assert client.images.get(other["id"])["status"] == "queued"
