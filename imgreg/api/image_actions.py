"""Small per-image actions: ``PUT|DELETE /v2/images/{id}/tags/{tag}`` and
``POST /v2/images/{id}/actions/deactivate|reactivate``. Each is a load, a domain change and
one save through the chain, so policy, quota and notifications apply as for a PATCH, and so
does ``If-Match`` (412 when the image changed since the ETag it names).
"""

from __future__ import annotations

import webob

from imgreg.api.text import check_text
from imgreg.api.validators import require_if_match
from imgreg.domain import errors
from imgreg.domain.factory import normalize_id
from imgreg.domain.image import Image
from imgreg.domain.ports import ImageRepo
from imgreg.layers import build_image_repo
from imgreg.services import Services


class ImageActionsController:
    def __init__(self, svc: Services) -> None:
        self.svc = svc

    def _load(self, request: webob.Request, image_id: str) -> tuple[ImageRepo, Image]:
        repo = build_image_repo(request.environ["imgreg.context"], self.svc)
        image = repo.get(normalize_id(image_id))
        require_if_match(request, image)
        return repo, image

    def add_tag(self, request: webob.Request, image_id: str, tag: str) -> webob.Response:
        check_text(tag)
        if len(tag) > 255:
            raise errors.Invalid("Tags are at most 255 characters long.")
        repo, image = self._load(request, image_id)
        image.tags.add(tag)
        repo.save(image)  # even a tag it has: Glance saves (image.update), after modify_image
        return webob.Response(status=204)

    def delete_tag(self, request: webob.Request, image_id: str, tag: str) -> webob.Response:
        repo, image = self._load(request, image_id)
        if tag not in image.tags:
            raise errors.NotFound(f"Tag {tag} not found")
        image.tags.discard(tag)
        repo.save(image)
        return webob.Response(status=204)

    def deactivate(self, request: webob.Request, image_id: str) -> webob.Response:
        return self._switch(request, image_id, "deactivate", "active", "deactivated")

    def reactivate(self, request: webob.Request, image_id: str) -> webob.Response:
        return self._switch(request, image_id, "reactivate", "deactivated", "active")

    def _switch(
        self, request: webob.Request, image_id: str, action: str, source: str, target: str
    ) -> webob.Response:
        """active <-> deactivated; asking for the status the image has is a no-op (204)."""
        repo, image = self._load(request, image_id)
        if image.status != target:
            if image.status != source:
                raise errors.Forbidden(f"Not allowed to {action} image in status '{image.status}'")
            getattr(image, action)()
            repo.save(image)
        else:
            image.check_revision()
        return webob.Response(status=204)
