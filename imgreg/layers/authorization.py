"""Authorization, the outermost layer: ownership and visibility, whatever the policy says.

* Nobody but an admin creates an image owned by another project; a caller without a project
  owns nothing, so it creates nothing (not even an image without owner).
* An image the caller may not see is ``NotFound`` (never ``Forbidden``: its existence is not
  disclosed).
* Only the owner or an admin changes, deletes or uploads to an image; only an admin changes
  the owner. "The owner" is ``ctx.is_project(image.owner)``: an image without owner has none,
  whoever asks.
* Lists are scoped to what the caller may see.
"""

from __future__ import annotations

import dataclasses

from imgreg.context import RequestContext
from imgreg.domain import errors
from imgreg.domain.image import Image
from imgreg.domain.ports import ImageRepo, MemberLookup, UploadSession, UploadTerms
from imgreg.domain.query import ListQuery
from imgreg.domain.visibility import may_read
from imgreg.layers.base import FactoryLayer, RepoLayer


class AuthorizationImageFactory(FactoryLayer):
    def new_image(self, owner: str | None, **kwargs: object) -> Image:
        if not (self.ctx.is_admin or self.ctx.is_project(owner)):
            if not self.ctx.project_id:
                raise errors.Forbidden(
                    "You are not permitted to create images: you have no project to own them."
                )
            raise errors.Forbidden(f"You are not permitted to create images owned by '{owner}'.")
        return self.inner.new_image(owner, **kwargs)


class AuthorizationImageRepo(RepoLayer):
    def __init__(self, inner: ImageRepo, ctx: RequestContext, members: MemberLookup) -> None:
        super().__init__(inner, ctx)
        self.members = members

    def visible(self, image: Image) -> bool:
        project = self.ctx.project_id

        def is_member() -> bool:
            return project is not None and self.members(image.id, project) is not None

        return may_read(image, project, self.ctx.is_admin, is_member)

    def _check_owner(self, image: Image) -> None:
        if not (self.ctx.is_admin or self.ctx.is_project(image.owner)):
            raise errors.Forbidden("You do not own this image")

    def get(self, image_id: str) -> Image:
        image = self.inner.get(image_id)
        if not self.visible(image):
            raise errors.NotFound(f"No image found with ID {image_id}")
        return image

    def list(self, query: ListQuery) -> list[Image]:
        scoped = dataclasses.replace(
            query, project_id=self.ctx.project_id, is_admin=self.ctx.is_admin
        )
        return self.inner.list(scoped)

    def save(self, image: Image, from_state: str | None = None) -> Image:
        # Before the owner check, which would otherwise judge the caller by the new owner.
        if "owner" in image.changes().fields and not self.ctx.is_admin:
            raise errors.Forbidden("Owner can't be updated by non admin.")
        self._check_owner(image)
        return self.inner.save(image, from_state=from_state)

    def usage(self, owner: str | None) -> tuple[int, int]:
        """Only a project's own usage; a caller without a project owns nothing (the images
        without owner are nobody's)."""
        if not self.ctx.is_project(owner):
            return 0, 0
        return self.inner.usage(owner)

    def remove(self, image: Image) -> None:
        self._check_owner(image)
        self.inner.remove(image)

    def begin_upload(self, image: Image, terms: UploadTerms) -> UploadSession:
        self._check_owner(image)
        return self.inner.begin_upload(image, terms)
