"""``MemberRepoLayer``: explicit pass-through to the inner member repository."""

from __future__ import annotations

from imgreg.context import RequestContext
from imgreg.domain.image import Image
from imgreg.domain.member import Member
from imgreg.domain.ports import MemberRepo


class MemberRepoLayer:
    """Pass each call to the inner member repo; subclasses override only what they guard."""

    def __init__(self, inner: MemberRepo, ctx: RequestContext, image: Image) -> None:
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
