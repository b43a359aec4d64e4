"""``Client``: requests to the in-process app (``webob.Request.blank``), and what the
functional tests build with it (``client_with``, ``new_image``, ``listed_ids``, streamed
uploads: ``Body``, ``put_stream``); ``stored_files`` lists a filesystem store."""

from __future__ import annotations

import datetime as dt
import io
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import webob
from oslo_config import cfg
from sqlalchemy import update

from imgreg import wsgi
from imgreg.db.models import ImageRow
from imgreg.domain.image import utcnow
from imgreg.services import wiring
from tests.support.images import MiB

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


def deleted_image(client: Client) -> str:
    """The id of an image created and deleted a day ago: a blob under that name is imgreg's
    settled orphan (a delete whose data removal failed), where one under a name no row has is
    left alone. A day ago: a row settles a lease after its last change, counted in whole
    seconds, so a test that slept a lease and a half could still find it unsettled."""
    image_id: str = client.create(name="gone")["id"]
    resp = client.delete(f"/v2/images/{image_id}")
    assert resp.status_int == 204, resp.text
    with wiring.services().db.write() as session:
        session.execute(
            update(ImageRow)
            .where(ImageRow.id == image_id)
            .values(updated_at=utcnow() - dt.timedelta(days=1))
        )
    return image_id


def kept_urls(store: Any, image_id: str) -> list[str]:
    """The blobs of ``store`` named by ``image_id``."""
    return [url for url in store.list_blobs() if image_id in url]


def listed_ids(client: Client, query: str = "") -> list[str]:
    resp = client.get(f"/v2/images{query}")
    assert resp.status_int == 200, resp.text
    return [image["id"] for image in resp.json["images"]]


class Client:
    """Requests to the in-process app; ``as_`` picks the identity headers."""

    def __init__(self, app: Any, headers: dict[str, str] | None = None) -> None:
        self.app = app
        self.headers = headers or {}

    def as_(self, project: str, roles: str = "member,reader", user: str = "u1") -> Client:
        return Client(
            self.app,
            {
                "X-Identity-Status": "Confirmed",
                "X-Project-Id": project,
                "X-User-Id": user,
                "X-Roles": roles,
            },
        )

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        headers: dict[str, str] | None = None,
        raw: bytes | None = None,
    ) -> webob.Response:
        req = webob.Request.blank(path, method=method)
        for name, value in {**self.headers, **(headers or {})}.items():
            req.headers[name] = value
        if raw is not None:
            req.body = raw
        elif body is not None:
            req.body = json.dumps(body).encode()
            req.content_type = req.content_type or "application/json"
        return req.get_response(self.app)

    def get(self, path: str, **kw: Any) -> webob.Response:
        return self.request("GET", path, **kw)

    def post(self, path: str, body: Any = None, **kw: Any) -> webob.Response:
        return self.request("POST", path, body=body, **kw)

    def delete(self, path: str, **kw: Any) -> webob.Response:
        return self.request("DELETE", path, **kw)

    def put_file(self, image_id: str, data: bytes, **headers: str) -> webob.Response:
        return self.request(
            "PUT",
            f"/v2/images/{image_id}/file",
            raw=data,
            headers={"Content-Type": "application/octet-stream", **headers},
        )

    def create(self, **body: Any) -> dict[str, Any]:
        body.setdefault("disk_format", "raw")
        body.setdefault("container_format", "bare")
        resp = self.post("/v2/images", body)
        assert resp.status_int == 201, resp.text
        return resp.json


def stored_files(store_dir: Path) -> list[str]:
    """Every file in the store, partial uploads included."""
    if not store_dir.exists():
        return []
    return sorted(str(p.relative_to(store_dir)) for p in store_dir.rglob("*") if p.is_file())


# -- streamed uploads (a body that fails or acts part-way, sized or chunked) ------------------

DATA = os.urandom(6 * MiB + 123)  # over one store block (4 MiB): a partial file gets written


class Body(io.RawIOBase):
    """A request body (reads block until ``size`` bytes or EOF, as a server's input does)
    that raises ``fail`` and/or calls ``action`` on the first read after ``after`` bytes."""

    def __init__(
        self,
        data: bytes,
        after: int | None = None,
        fail: BaseException | None = None,
        action: Callable[[], None] | None = None,
    ) -> None:
        self.data = data
        self.after = after
        self.fail = fail
        self.action = action
        self.pos = 0

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        if self.after is not None and self.pos >= self.after:
            if self.action is not None:
                action, self.action = self.action, None
                action()
            if self.fail is not None:
                raise self.fail
        size = len(self.data) - self.pos if size is None or size < 0 else size
        piece = self.data[self.pos : self.pos + size]
        self.pos += len(piece)
        return piece


def put_stream(client: Client, image_id: str, body: Body, sized: bool) -> webob.Response:
    """PUT a streamed body: with a Content-Length (``sized``) or chunked (no length)."""
    req = webob.Request.blank(f"/v2/images/{image_id}/file", method="PUT")
    for name, value in client.headers.items():
        req.headers[name] = value
    req.content_type = "application/octet-stream"
    if sized:
        req.environ["wsgi.input"] = body
        req.content_length = len(body.data)
    else:
        req.body_file = body  # webob: no Content-Length, read to EOF (like chunked)
    return req.get_response(client.app)
