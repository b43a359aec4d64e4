"""Policy: every operation is checked against an oslo.policy rule (``imgreg.rules.policy``).

A caller who may not even ``get_image`` learns nothing: that denial reads as ``NotFound``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping

from imgreg.context import RequestContext
from imgreg.domain import errors
from imgreg.domain.image import DATA_FIELDS, Image
from imgreg.domain.ports import (
    BlobReader,
    ImageFactory,
    ImageRepo,
    MemberLookup,
    UploadSession,
    UploadTerms,
)
from imgreg.domain.query import ListQuery
from imgreg.layers.base import FactoryLayer, RepoLayer
from imgreg.rules.policy import Policy

# Status changes a caller asks for, and their rules. Moves imgreg makes itself (saving ->
# active at the end of an upload, back to queued after a failure) need no rule of their own.
STATUS_RULES = {
    ("queued", "saving"): "upload_image",
    ("active", "deactivated"): "deactivate",
    ("deactivated", "active"): "reactivate",
}


def image_target(image: Image, member_id: str | None = None) -> dict[str, object]:
    return {
        "project_id": image.owner,
        "owner": image.owner,
        "visibility": image.visibility,
        "member_id": member_id,
        "image_id": image.id,
    }


class SharedImageTarget(Mapping[str, object]):
    """The target of a shared image, whose ``member_id`` (the caller's project, if the image
    is shared with it) costs a query: it is looked up the first time a rule reads it, at most
    once. Most checks never do: ``role:admin`` or the owner's project decides them first
    (oslo.policy takes any ``Mapping`` as a target and reads keys as its rules need them)."""

    def __init__(self, image: Image, find_member: Callable[[], str | None]) -> None:
        self._values = image_target(image)
        self._find_member: Callable[[], str | None] | None = find_member

    def __getitem__(self, key: str) -> object:
        if key == "member_id" and self._find_member is not None:
            self._values["member_id"] = self._find_member()
            self._find_member = None
        return self._values[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)


def _check_visibility(policy: Policy, ctx: RequestContext, image: Image) -> None:
    target = image_target(image)
    if image.visibility == "public":
        policy.enforce(ctx, "publicize_image", target)
    elif image.visibility == "community":
        policy.enforce(ctx, "communitize_image", target)


class PolicyImageFactory(FactoryLayer):
    def __init__(self, inner: ImageFactory, ctx: RequestContext, policy: Policy) -> None:
        super().__init__(inner, ctx)
        self.policy = policy

    def new_image(self, owner: str | None, **kwargs: object) -> Image:
        image = self.inner.new_image(owner, **kwargs)
        self.policy.enforce(self.ctx, "add_image", image_target(image))
        _check_visibility(self.policy, self.ctx, image)
        return image


class PolicyImageRepo(RepoLayer):
    def __init__(
        self, inner: ImageRepo, ctx: RequestContext, policy: Policy, members: MemberLookup
    ) -> None:
        super().__init__(inner, ctx)
        self.policy = policy
        self.members = members

    def _target(self, image: Image) -> Mapping[str, object]:
        project = self.ctx.project_id
        if image.visibility != "shared" or not project:
            return image_target(image)

        def find_member() -> str | None:
            return project if self.members(image.id, project) else None

        return SharedImageTarget(image, find_member)

    def get(self, image_id: str) -> Image:
        image = self.inner.get(image_id)
        if not self.policy.check(self.ctx, "get_image", self._target(image)):
            raise errors.NotFound(f"No image found with ID {image_id}")
        return image

    def list(self, query: ListQuery) -> list[Image]:
        self.policy.enforce(self.ctx, "get_images", {"project_id": self.ctx.project_id})
        return self.inner.list(query)

    def save(self, image: Image, from_state: str | None = None) -> Image:
        changes = image.changes()
        edits = (
            changes.fields - {"status", *DATA_FIELDS} or changes.properties or changes.tags_changed
        )
        # A save that changes nothing (a tag added again, a PATCH setting what is there) was
        # still asked for: Glance checks modify_image before it looks at the difference.
        if edits or not (changes.fields or changes.locations_changed):
            self.policy.enforce(self.ctx, "modify_image", self._target(image))
            if "visibility" in changes.fields:
                _check_visibility(self.policy, self.ctx, image)
        elif (changes.status_before, image.status) in STATUS_RULES:
            rule = STATUS_RULES[(changes.status_before or "", image.status)]
            self.policy.enforce(self.ctx, rule, self._target(image))
        return self.inner.save(image, from_state=from_state)

    def remove(self, image: Image) -> None:
        self.policy.enforce(self.ctx, "delete_image", self._target(image))
        self.inner.remove(image)

    def begin_upload(self, image: Image, terms: UploadTerms) -> UploadSession:
        self.policy.enforce(self.ctx, "upload_image", self._target(image))
        return self.inner.begin_upload(image, terms)

    def check_download(self, image: Image) -> None:
        self.policy.enforce(self.ctx, "download_image", self._target(image))
        self.inner.check_download(image)

    def open_data(
        self, image: Image, offset: int = 0, length: int | None = None, prefer: tuple[str, ...] = ()
    ) -> BlobReader:
        self.policy.enforce(self.ctx, "download_image", self._target(image))
        if prefer:
            self.policy.enforce(self.ctx, "download_from_store", self._target(image))
        return self.inner.open_data(image, offset, length, prefer)
