"""Helpers shared by the functional tests (fixtures live in ``tests/conftest.py``)."""

from __future__ import annotations

from typing import Any

from oslo_config import cfg

from imgreg import wsgi
from imgreg.services import wiring
from tests.conftest import Client

UNKNOWN_ID = "0a0b0c0d-0000-4000-8000-000000000001"


def client_with(conf: cfg.ConfigOpts, **overrides: Any) -> Client:
    """A client for an app built after ``overrides`` (``group.name`` for grouped options)."""
    for name, value in overrides.items():
        group = None
        if "." in name:
            group, name = name.split(".", 1)
        conf.set_override(name, value, group=group)
    wiring.reset()
    return Client(wsgi.load_app(conf))


def new_image(client: Client, data: bytes | None = None, **body: Any) -> dict[str, Any]:
    """Create an image (raw/bare unless told otherwise), upload ``data`` if given; its JSON."""
    image = client.create(**body)
    if data is not None:
        resp = client.put_file(image["id"], data)
        assert resp.status_int == 204, resp.text
        image = client.get(f"/v2/images/{image['id']}").json
    return image


def listed_ids(client: Client, query: str = "") -> list[str]:
    resp = client.get(f"/v2/images{query}")
    assert resp.status_int == 200, resp.text
    return [image["id"] for image in resp.json["images"]]
