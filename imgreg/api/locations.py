"""``/v2/images/{id}/locations`` (API 2.17): add a location to a queued image, list locations.

``POST`` with ``{"url", "validation_data"?: {"os_hash_algo", "os_hash_value"}}`` answers 202
and the ``location_import`` task finishes the job (``imgreg.importing.location_import``).
Glance lets users add ``http`` locations and services anything; imgreg has no http store, so
only services (the ``service`` role, in the token or in the service token Nova sends beside
the user's) and admins may add one: policy ``add_image_location``, then ``service_api``.

``GET`` lists ``[{"url", "metadata"}]`` to services (policy ``fetch_image_location``).
"""

from __future__ import annotations

from typing import Any

import webob

from imgreg.api import body as request_body
from imgreg.api.text import check_text
from imgreg.api.views import json_response, location_list
from imgreg.context import RequestContext
from imgreg.domain import errors, location_rules
from imgreg.domain.factory import normalize_id
from imgreg.importing import location_import
from imgreg.layers import build_image_repo
from imgreg.layers.policy import image_target
from imgreg.services import Services

BODY_LIMIT = 64 * 1024
ADD_KEYS = frozenset({"url", "validation_data"})


def parse_add(request: webob.Request) -> tuple[str, dict[str, str]]:
    """(url, validation data) of a POST, or 400."""
    body = request_body.parse_json(request_body.read_body(request, BODY_LIMIT))
    if not isinstance(body, dict):
        raise errors.Invalid("The request body must be a JSON object with a 'url'.")
    check_text(body)
    extra = set(body) - ADD_KEYS
    if extra:
        raise errors.Invalid(f"Unexpected member(s): {', '.join(sorted(extra))[:128]}.")
    url = location_rules.check_url(body.get("url"))
    return url, location_rules.parse_validation(body.get("validation_data"), patch=False)


class LocationsController:
    def __init__(self, svc: Services) -> None:
        self.svc = svc

    def _is_service(self, ctx: RequestContext) -> bool:
        return "service" in ctx.service_roles or self.svc.policy.check(ctx, "service_api", {})

    def _web_data(self, url: str) -> bool:
        """A URL of the read-only http store: the owner may add it, as in Glance (the data
        is anyone's, read through the store's filter; nothing of another image's)."""
        stores = self.svc.store
        try:
            return stores.read_only(stores.resolve(url)[0])
        except errors.NotFound as exc:
            web = any(info.read_only for info in stores.info())
            if web and url.startswith(("http://", "https://")):
                raise errors.Invalid(exc.message) from None  # the filter's reason: 400
            return False

    def add(self, request: webob.Request, image_id: str) -> webob.Response:
        ctx = request.environ["imgreg.context"]
        url, validation = parse_add(request)
        image = build_image_repo(ctx, self.svc).get(normalize_id(image_id))
        self.svc.policy.enforce(ctx, "add_image_location", image_target(image))
        if not self._is_service(ctx) and not self._web_data(url):
            raise errors.Forbidden(
                "Only services may add locations: users add image data by upload or import, "
                "or name it on a web server the http store admits."
            )
        if image.status != "queued":
            raise errors.Conflict(
                f"It's not allowed to add locations if image status is {image.status}."
            )
        location_import.start(self.svc, ctx, image.id, url, validation)
        return webob.Response(status=202)

    def index(self, request: webob.Request, image_id: str) -> webob.Response:
        ctx = request.environ["imgreg.context"]
        image = build_image_repo(ctx, self.svc).get(normalize_id(image_id))
        self.svc.policy.enforce(ctx, "fetch_image_location", image_target(image))
        body: Any = location_list(image)
        return json_response(body)
