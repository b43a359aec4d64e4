"""The ``Member`` domain object: one project an image is shared with, and its answer.

A membership starts ``pending``; the member (never the owner) moves it between the three
statuses with ``change_status``. Status decides only whether the image shows in the member's
default list (``accepted``); a member may read the image in any status.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

from imgreg.domain import errors
from imgreg.domain.image import utcnow

STATUSES = ("pending", "accepted", "rejected")
MEMBER_ID_MAX = 255  # the width of image_members.member


@dataclasses.dataclass(eq=False)
class Member:
    image_id: str
    member_id: str
    status: str = "pending"
    created_at: dt.datetime = dataclasses.field(default_factory=utcnow)
    updated_at: dt.datetime = dataclasses.field(default_factory=utcnow)

    @classmethod
    def new(cls, image_id: str, member_id: object) -> Member:
        """A new, ``pending`` membership; ``member_id`` is any project id (not checked against
        Keystone, as in Glance) that fits the column."""
        if not isinstance(member_id, str):
            raise errors.Invalid('Expected a member in the form: {"member": "<project id>"}')
        if not member_id:
            raise errors.Invalid("Member can't be empty")
        if len(member_id) > MEMBER_ID_MAX:
            raise errors.Invalid(f"Member is too long (at most {MEMBER_ID_MAX} characters).")
        return cls(image_id=image_id, member_id=member_id)

    def change_status(self, status: object) -> None:
        if status not in STATUSES:
            raise errors.Invalid('Status must be "pending", "accepted" or "rejected".')
        self.status = str(status)
