"""Which images a caller may read: the one statement of the rule.

A caller reads an image when any of ``READABLE``'s grants holds. The authorization layer
checks it on one image (``may_read``); the database turns the same grants into the SQL that
scopes a list's marker (``imgreg.db.query.readable_clause``), one clause a grant, so the two
cannot drift apart without a grant missing from one of them (a test compares them).
"""

from __future__ import annotations

import enum
from collections.abc import Callable

from imgreg.domain.image import Image

OPEN_VISIBILITIES = ("public", "community")


class Grant(enum.Enum):
    ADMIN = "the caller is an administrator"
    UNOWNED = "the image has no owner"
    OPEN = "the image is public or community"
    OWNER = "the image belongs to the caller's project"
    MEMBER = "the image is shared with the caller's project (whatever its answer)"


READABLE = (Grant.ADMIN, Grant.UNOWNED, Grant.OPEN, Grant.OWNER, Grant.MEMBER)


def may_read(
    image: Image, project_id: str | None, is_admin: bool, is_member: Callable[[], bool]
) -> bool:
    """``is_member`` is asked last, and only of a shared image: it costs a query."""
    holds: dict[Grant, Callable[[], bool]] = {
        Grant.ADMIN: lambda: is_admin,
        Grant.UNOWNED: lambda: image.owner is None,
        Grant.OPEN: lambda: image.visibility in OPEN_VISIBILITIES,
        # a caller without a project owns nothing and is nobody's member
        Grant.OWNER: lambda: bool(project_id) and image.owner == project_id,
        Grant.MEMBER: lambda: image.visibility == "shared" and bool(project_id) and is_member(),
    }
    return any(holds[grant]() for grant in READABLE)
