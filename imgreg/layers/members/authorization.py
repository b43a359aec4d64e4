"""Authorization of members: who may see, add, answer for and remove them."""

from __future__ import annotations

from imgreg.domain import errors
from imgreg.domain.member import Member
from imgreg.layers.members.base import MemberRepoLayer


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
