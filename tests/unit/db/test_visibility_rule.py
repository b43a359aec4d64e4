"""The readable rule (``imgreg.domain.visibility``) says the same in Python and in SQL: for every
kind of caller and every kind of image, the images ``may_read`` lets the authorization layer
show are exactly those ``readable_clause`` selects (the scope of a list's marker)."""

from __future__ import annotations

import itertools

import pytest
from sqlalchemy import select

from imgreg.db import query
from imgreg.db.members import SqlMemberRepo
from imgreg.db.models import ImageRow
from imgreg.domain.factory import ImageFactory
from imgreg.domain.image import VISIBILITIES
from imgreg.domain.member import Member
from imgreg.domain.visibility import READABLE, Grant, may_read

OWNERS = (None, "p1", "p2")
MEMBERSHIP = (None, "pending", "accepted", "rejected")  # p1's answer, on a shared image
CALLERS = {  # name: (project_id, is_admin)
    "admin": ("p9", True),
    "p1": ("p1", False),
    "p2": ("p2", False),
    "no project": (None, False),
    "empty project": ("", False),
}


@pytest.fixture
def images(db, repo):
    made = {}
    for owner, visibility, answer in itertools.product(OWNERS, VISIBILITIES, MEMBERSHIP):
        if answer is not None and visibility != "shared":
            continue
        image = ImageFactory().new_image(
            owner, visibility=visibility, disk_format="raw", container_format="bare"
        )
        repo.add(image)
        if answer is not None:
            member = SqlMemberRepo(db, image.id).add(Member.new(image.id, "p1"))
            if answer != "pending":
                member.status = answer
                SqlMemberRepo(db, image.id).save(member)
        made[image.id] = image
    return made


@pytest.mark.parametrize("caller", CALLERS)
def test_python_and_sql_read_the_same_images(db, repo, images, caller):
    project, is_admin = CALLERS[caller]

    def python_reads(image) -> bool:
        return may_read(
            image,
            project,
            is_admin,
            lambda: project is not None and repo.member_status(image.id, project) is not None,
        )

    with db.query() as conn:
        clause = query.readable_clause(project, is_admin)
        sql = set(conn.scalars(select(ImageRow.id).where(ImageRow.id.in_(images), clause)))
    assert sql == {i for i, image in images.items() if python_reads(image)}
    assert sql  # every caller reads something (the public and unowned images)
    if not is_admin:
        assert sql != set(images)  # and no one but an admin reads everything


def test_every_grant_has_its_sql():
    for grant in Grant:
        assert query.grant_clause(grant, "p1", False) is not None
    assert set(READABLE) == set(Grant)
