"""``GET /v2/schemas/image`` and ``/v2/schemas/images``: the schema objects that create and
update are validated against, served as they are."""

from __future__ import annotations

import json

import webob

from imgreg.services import Services


class SchemasController:
    def __init__(self, svc: Services) -> None:
        # Serialized once: the documents never change while the process runs.
        self._image = json.dumps(svc.schema.document).encode()
        self._images = json.dumps(svc.schema.collection()).encode()

    @staticmethod
    def _json(body: bytes) -> webob.Response:
        return webob.Response(body=body, content_type="application/json", charset=None)

    def image(self, request: webob.Request) -> webob.Response:
        return self._json(self._image)

    def images(self, request: webob.Request) -> webob.Response:
        return self._json(self._images)
