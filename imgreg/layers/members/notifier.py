"""Notifications of members: Glance's ``image.member.*`` events and payloads."""

from __future__ import annotations

from imgreg.context import RequestContext
from imgreg.domain.image import Image, isotime, isotime_or_none, utcnow
from imgreg.domain.member import Member
from imgreg.domain.ports import MemberRepo
from imgreg.layers.members.base import MemberRepoLayer
from imgreg.services.messaging import Notifier


def member_payload(member: Member, deleted: bool = False) -> dict[str, object]:
    """Glance's ``format_image_member_notification``."""
    return {
        "image_id": member.image_id,
        "member_id": member.member_id,
        "status": member.status,
        "created_at": isotime_or_none(member.created_at),
        "updated_at": isotime_or_none(member.updated_at),
        "deleted": deleted,
        "deleted_at": isotime(utcnow()) if deleted else None,
    }


class NotifierMemberRepo(MemberRepoLayer):
    """``image.member.create`` / ``.update`` / ``.delete``, after the inner layers succeeded."""

    def __init__(
        self, inner: MemberRepo, ctx: RequestContext, image: Image, notifier: Notifier
    ) -> None:
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
