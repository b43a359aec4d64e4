"""``/v2/images`` and ``/v2/images/{id}``: create, list, show, delete.

Request parsing lives in the ``parse_*`` functions; the controller methods only call the chain
and shape the response.
"""

from __future__ import annotations

import json
import urllib.parse
from typing import Any

import webob

from imgreg.api.views import image_view, json_response
from imgreg.db.query import ListQuery
from imgreg.domain import errors
from imgreg.domain.factory import check_attribute, normalize_id
from imgreg.domain.image import MUTABLE_FIELDS
from imgreg.layers import build_image_factory, build_image_repo
from imgreg.services import Services

BASE_BODY_KEYS = frozenset({*MUTABLE_FIELDS, "id", "tags"})


def parse_json(request: webob.Request) -> Any:
    try:
        return json.loads(request.body or b"null")
    except (ValueError, RecursionError):
        raise errors.Invalid("Malformed JSON in request body.") from None


def _check_text(value: Any) -> None:
    """Refuse 4-byte UTF-8 and NUL in any string of the body (Glance: 400)."""
    if isinstance(value, str):
        if any(ord(c) > 0xFFFF for c in value):
            raise errors.Invalid("Name can't contain 4 byte unicode characters.")
        if "\x00" in value:
            raise errors.Invalid("Strings must not contain NUL characters.")
    elif isinstance(value, list):
        for item in value:
            _check_text(item)


def parse_create(request: webob.Request, svc: Services) -> dict[str, Any]:
    body = parse_json(request)
    if not isinstance(body, dict):
        raise errors.Invalid("Unexpected body type. Expected a JSON object.")
    for key, value in body.items():
        _check_text(key)
        _check_text(value)
        if key not in BASE_BODY_KEYS:
            check_attribute(key)
    svc.schema.validate(body)
    fields = {k: v for k, v in body.items() if k in MUTABLE_FIELDS}
    extra = {k: v for k, v in body.items() if k not in BASE_BODY_KEYS}
    for key in extra:
        if len(key) > 255:
            raise errors.Invalid(f"Property name is too long (at most 255): {key[:32]}...")
    return {
        "image_id": body.get("id"),
        "tags": set(body.get("tags") or ()),
        "extra_properties": extra,
        **fields,
    }


def parse_list(request: webob.Request, svc: Services) -> ListQuery:
    params = request.GET
    limit_text = params.get("limit", str(svc.conf.limit_param_default))
    try:
        limit = int(limit_text)
    except ValueError:
        raise errors.Invalid("limit param must be an integer") from None
    if limit < 0:
        raise errors.Invalid("limit param must be positive")
    marker = params.get("marker")
    return ListQuery(
        project_id=None,
        is_admin=False,
        limit=min(limit, svc.conf.api_limit_max),
        marker_id=normalize_marker(marker) if marker is not None else None,
    )


def normalize_marker(marker: str) -> str:
    try:
        return normalize_id(marker)
    except errors.NotFound:
        raise errors.Invalid(f"Invalid marker {marker!r}") from None


class ImagesController:
    def __init__(self, svc: Services) -> None:
        self.svc = svc

    def _repo(self, request: webob.Request) -> Any:
        return build_image_repo(request.environ["imgreg.context"], self.svc)

    def create(self, request: webob.Request) -> webob.Response:
        ctx = request.environ["imgreg.context"]
        kwargs = parse_create(request, self.svc)
        owner = kwargs.pop("owner", ctx.project_id)
        image = build_image_factory(ctx, self.svc).new_image(owner, **kwargs)
        image = self._repo(request).add(image)
        response = json_response(image_view(image), status=201)
        base = self.svc.conf.public_endpoint or request.host_url
        response.headers["Location"] = f"{base.rstrip('/')}/v2/images/{image.id}"
        return response

    def index(self, request: webob.Request) -> webob.Response:
        query = parse_list(request, self.svc)
        images = self._repo(request).list(query) if query.limit else []
        params = [(k, v) for k, v in request.GET.items() if k != "marker"]
        first = "/v2/images" + (f"?{urllib.parse.urlencode(params)}" if params else "")
        body: dict[str, Any] = {
            "images": [image_view(i) for i in images],
            "first": first,
            "schema": "/v2/schemas/images",
        }
        if query.limit and len(images) == query.limit:
            params.append(("marker", images[-1].id))
            body["next"] = f"/v2/images?{urllib.parse.urlencode(params)}"
        return json_response(body)

    def show(self, request: webob.Request, image_id: str) -> webob.Response:
        return json_response(image_view(self._repo(request).get(normalize_id(image_id))))

    def delete(self, request: webob.Request, image_id: str) -> webob.Response:
        repo = self._repo(request)
        image = repo.get(normalize_id(image_id))
        if image.protected:
            raise errors.Forbidden(f"Image {image.id} is protected and cannot be deleted.")
        repo.remove(image)
        return webob.Response(status=204)
