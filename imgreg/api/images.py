"""``/v2/images`` and ``/v2/images/{id}``: create, list, show (GET, HEAD), update, delete.

Show and update answer with the image's ``ETag``; update and delete honour ``If-Match``
(``imgreg.api.validators``).

Request parsing lives in the ``parse_*`` functions; the controller methods only call the chain
and shape the response.
"""

from __future__ import annotations

from typing import Any

import webob

from imgreg.api import body as request_body
from imgreg.api import list_params, patch
from imgreg.api.cache_reads import evict
from imgreg.api.location_patch import LocationEditor
from imgreg.api.text import check_text, check_value_size
from imgreg.api.validators import (
    image_etag,
    not_modified,
    not_modified_response,
    require_if_match,
)
from imgreg.api.views import Display, image_view, json_response
from imgreg.domain import errors
from imgreg.domain.factory import check_attribute, normalize_id
from imgreg.domain.image import MUTABLE_FIELDS, Image
from imgreg.domain.ports import ImageRepo
from imgreg.domain.query import ListQuery
from imgreg.layers import build_image_factory, build_image_repo
from imgreg.services import Services

BASE_BODY_KEYS = frozenset({*MUTABLE_FIELDS, "id", "tags"})


def parse_json(request: webob.Request, svc: Services) -> Any:
    return request_body.read_json(request, svc.conf.max_request_body_size)


def parse_create(request: webob.Request, svc: Services) -> dict[str, Any]:
    body = parse_json(request, svc)
    if not isinstance(body, dict):
        raise errors.Invalid("Unexpected body type. Expected a JSON object.")
    for key, value in body.items():
        check_text(key)
        check_text(value)
        if key not in BASE_BODY_KEYS:
            check_attribute(key)
        check_value_size(key, value, svc.conf.max_property_value_bytes)
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
    """The grammar is in ``imgreg.api.list_params``."""
    return list_params.parse_list_query(
        request.GET.items(), svc.conf.limit_param_default, svc.conf.api_limit_max
    )


class ImagesController:
    def __init__(self, svc: Services) -> None:
        self.svc = svc

    def _display(self, request: webob.Request) -> Display:
        conf = self.svc.conf
        return Display(
            direct_url=conf.show_image_direct_url,
            locations=conf.show_multiple_locations,
            stores=self.svc.store.multiple,
            admin=request.environ["imgreg.context"].is_admin,
        )

    def _view(self, request: webob.Request, image: Image) -> dict[str, Any]:
        return image_view(image, self._display(request))

    def _repo(self, request: webob.Request) -> ImageRepo:
        return build_image_repo(request.environ["imgreg.context"], self.svc)

    def create(self, request: webob.Request) -> webob.Response:
        ctx = request.environ["imgreg.context"]
        kwargs = parse_create(request, self.svc)
        owner = kwargs.pop("owner", ctx.project_id)
        image = build_image_factory(ctx, self.svc).new_image(owner, **kwargs)
        image = self._repo(request).add(image)
        response = json_response(self._view(request, image), status=201)
        base = self.svc.conf.public_endpoint or request.host_url
        response.headers["Location"] = f"{base.rstrip('/')}/v2/images/{image.id}"
        methods = self.svc.conf.enabled_import_methods
        if methods:
            response.headers["OpenStack-image-import-methods"] = ",".join(methods)
        if self.svc.store.multiple:
            response.headers["OpenStack-image-store-ids"] = ",".join(self.svc.store.ids())
        return response

    def index(self, request: webob.Request) -> webob.Response:
        query = parse_list(request, self.svc)
        images = self._repo(request).list(query) if query.limit else []
        pairs = list(request.GET.items())
        display = self._display(request)
        body: dict[str, Any] = {
            "images": [image_view(i, display) for i in images],
            "first": list_params.page_link(pairs),
            "schema": "/v2/schemas/images",
        }
        if query.limit and len(images) == query.limit:
            body["next"] = list_params.page_link(pairs, marker=images[-1].id)
        return json_response(body)

    def show(self, request: webob.Request, image_id: str) -> webob.Response:
        """GET and HEAD (WebOb sends HEAD's headers without the body)."""
        image = self._repo(request).get(normalize_id(image_id))
        etag = image_etag(image)
        if not_modified(request, etag):
            return not_modified_response(etag)
        return self._tagged(json_response(self._view(request, image)), etag)

    @staticmethod
    def _tagged(response: webob.Response, etag: str) -> webob.Response:
        response.headers["ETag"] = etag
        return response

    def update(self, request: webob.Request, image_id: str) -> webob.Response:
        media_type = request.content_type
        if media_type not in patch.MEDIA_TYPES:
            raise errors.UnsupportedMediaType(
                f"The request media type {media_type or 'none'} is not supported by this server.",
                headers={"Accept-Patch": ", ".join(patch.MEDIA_TYPES)},
            )
        limit = self.svc.conf.max_request_body_size
        ops = patch.parse_patch(request_body.read_body(request, limit), media_type)
        for op in ops:
            check_value_size(op.name, op.value, self.svc.conf.max_property_value_bytes)
        repo = self._repo(request)
        image = repo.get(normalize_id(image_id))
        require_if_match(request, image)
        editor = None
        if self.svc.conf.show_multiple_locations:
            editor = LocationEditor(self.svc, request.environ["imgreg.context"])
        if ops:
            patch.apply_patch(image, ops, self.svc.schema, media_type, editor)
            image = repo.save(image)
            if editor is not None:
                editor.discard_removed(image)
        else:
            image.check_revision()
        return self._tagged(json_response(self._view(request, image)), image_etag(image))

    def delete(self, request: webob.Request, image_id: str) -> webob.Response:
        repo = self._repo(request)
        image = repo.get(normalize_id(image_id))
        require_if_match(request, image)
        if image.protected:
            raise errors.Forbidden(f"Image {image.id} is protected and cannot be deleted.")
        repo.remove(image)
        evict(self.svc.cache, image.id)  # this node's copy at once; others' at next request
        return webob.Response(status=204)
