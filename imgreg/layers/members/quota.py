"""Quota of members: ``image_member_quota``."""

from __future__ import annotations

from oslo_config import cfg

from imgreg.context import RequestContext
from imgreg.domain import errors
from imgreg.domain.image import Image
from imgreg.domain.member import Member
from imgreg.domain.ports import MemberRepo
from imgreg.layers.members.base import MemberRepoLayer


class QuotaMemberRepo(MemberRepoLayer):
    """``image_member_quota``: live members per image (negative: no limit)."""

    def __init__(
        self, inner: MemberRepo, ctx: RequestContext, image: Image, conf: cfg.ConfigOpts
    ) -> None:
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
