"""The member chain: the layers around ``SqlMemberRepo`` for the members of one image.

Outer to inner, as for images: authorization → notifier → policy → quota → ``SqlMemberRepo``
(property protection and location have nothing to guard here). Every layer knows the image
whose members it handles; the controller has already loaded it through the image chain, so a
caller who may not see the image got ``NotFound`` before reaching this chain.
"""

from __future__ import annotations

import contextlib
from typing import Any

from oslo_config import cfg

from imgreg.context import RequestContext
from imgreg.domain import errors
from imgreg.domain.image import Image, utcnow
from imgreg.domain.member import Member
from imgreg.layers.notifier import isotime
from imgreg.layers.policy import image_target
from imgreg.rules.policy import Policy
from imgreg.services.messaging import Notifier


class MemberRepoLayer:
    """Pass each call to the inner member repo; subclasses override only what they guard."""

    def __init__(self, inner: Any, ctx: RequestContext, image: Image) -> None:
        self.inner = inner
        self.ctx = ctx
        self.image = image

    def get(self, member_id: str) -> Member:
        return self.inner.get(member_id)

    def list(self) -> list[Member]:
        return self.inner.list()

    def count(self) -> int:
        return self.inner.count()

    def add(self, member: Member) -> Member:
        return self.inner.add(member)

    def save(self, member: Member) -> Member:
        return self.inner.save(member)

    def remove(self, member: Member) -> None:
        self.inner.remove(member)


class AuthorizationMemberRepo(MemberRepoLayer):
    """Only shared images have members; the owner adds and removes them, only the member
    answers; a member sees its own row and nobody else's."""

    def _check_shared(self) -> None:
        if self.image.visibility != "shared":
            raise errors.Forbidden("Only shared images have members.")

    def _owner(self) -> bool:
        return self.ctx.is_admin or self.ctx.is_project(self.image.owner)

    def _may_see(self, member: Member) -> bool:
        return self._owner() or self.ctx.is_project(member.member_id)

    def get(self, member_id: str) -> Member:
        self._check_shared()
        member = self.inner.get(member_id)
        if not self._may_see(member):
            raise errors.NotFound(
                f"{member_id} not found in the member list of the image {self.image.id}."
            )
        return member

    def list(self) -> list[Member]:
        self._check_shared()
        return [m for m in self.inner.list() if self._may_see(m)]

    def add(self, member: Member) -> Member:
        self._check_shared()
        if not self._owner():
            raise errors.Forbidden("You are not permitted to create image members for the image.")
        return self.inner.add(member)

    def save(self, member: Member) -> Member:
        self._check_shared()
        if not (self.ctx.is_admin or self.ctx.is_project(member.member_id)):
            raise errors.Forbidden("You are not permitted to modify 'status' on this image member.")
        return self.inner.save(member)

    def remove(self, member: Member) -> None:
        self._check_shared()
        if not self._owner():
            raise errors.Forbidden("You cannot delete image member.")
        self.inner.remove(member)


def member_payload(member: Member, deleted: bool = False) -> dict[str, Any]:
    """Glance's ``format_image_member_notification``."""
    return {
        "image_id": member.image_id,
        "member_id": member.member_id,
        "status": member.status,
        "created_at": isotime(member.created_at),
        "updated_at": isotime(member.updated_at),
        "deleted": deleted,
        "deleted_at": isotime(utcnow()) if deleted else None,
    }


class NotifierMemberRepo(MemberRepoLayer):
    """``image.member.create`` / ``.update`` / ``.delete``, after the inner layers succeeded."""

    def __init__(self, inner: Any, ctx: RequestContext, image: Image, notifier: Notifier) -> None:
        super().__init__(inner, ctx, image)
        self.notifier = notifier

    def add(self, member: Member) -> Member:
        member = self.inner.add(member)
        self.notifier.info("image.member.create", member_payload(member))
        return member

    def save(self, member: Member) -> Member:
        member = self.inner.save(member)
        self.notifier.info("image.member.update", member_payload(member))
        return member

    def remove(self, member: Member) -> None:
        self.inner.remove(member)
        self.notifier.info("image.member.delete", member_payload(member, deleted=True))


class PolicyMemberRepo(MemberRepoLayer):
    """The member rules of ``imgreg.rules.policy``. The target is the image's; ``member_id`` is the
    caller's project when it is a member of the image (Glance's ``ImageTarget``)."""

    def __init__(self, inner: Any, ctx: RequestContext, image: Image, policy: Policy) -> None:
        super().__init__(inner, ctx, image)
        self.policy = policy

    def _enforce(self, rule: str) -> None:
        project = self.ctx.project_id
        member = None
        if project and not self.ctx.is_project(self.image.owner):
            with contextlib.suppress(errors.NotFound):
                member = self.inner.get(project).member_id
        self.policy.enforce(self.ctx, rule, image_target(self.image, member))

    def get(self, member_id: str) -> Member:
        self._enforce("get_member")
        return self.inner.get(member_id)

    def list(self) -> list[Member]:
        self._enforce("get_members")
        return self.inner.list()

    def add(self, member: Member) -> Member:
        self._enforce("add_member")
        return self.inner.add(member)

    def save(self, member: Member) -> Member:
        self._enforce("modify_member")
        return self.inner.save(member)

    def remove(self, member: Member) -> None:
        self._enforce("delete_member")
        self.inner.remove(member)


class QuotaMemberRepo(MemberRepoLayer):
    """``image_member_quota``: live members per image (negative: no limit)."""

    def __init__(self, inner: Any, ctx: RequestContext, image: Image, conf: cfg.ConfigOpts) -> None:
        super().__init__(inner, ctx, image)
        self.conf = conf

    def add(self, member: Member) -> Member:
        limit = self.conf.image_member_quota
        if limit >= 0:
            attempted = self.inner.count() + 1
            if attempted > limit:
                raise errors.QuotaExceeded(
                    f"Image member limit exceeded for image {self.image.id}: The limit has been "
                    "exceeded on the number of allowed image members for this image. "
                    f"Attempted: {attempted}, Maximum: {limit}"
                )
        return self.inner.add(member)
