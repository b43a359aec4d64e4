"""Policy of members: Glance's member rules over the image's target."""

from __future__ import annotations

import contextlib

from imgreg.context import RequestContext
from imgreg.domain import errors
from imgreg.domain.image import Image
from imgreg.domain.member import Member
from imgreg.domain.ports import MemberRepo
from imgreg.layers.members.base import MemberRepoLayer
from imgreg.layers.policy import image_target
from imgreg.rules.policy import Policy


class PolicyMemberRepo(MemberRepoLayer):
    """The member rules of ``imgreg.rules.policy``. The target is the image's; ``member_id`` is the
    caller's project when it is a member of the image (Glance's ``ImageTarget``)."""

    def __init__(
        self, inner: MemberRepo, ctx: RequestContext, image: Image, policy: Policy
    ) -> None:
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
