"""Authorization: ownership and visibility, over a recording inner repo/factory."""

from __future__ import annotations

import pytest

from imgreg.domain import errors
from imgreg.domain.ports import UploadTerms
from imgreg.domain.query import ListQuery
from imgreg.layers.authorization import AuthorizationImageFactory, AuthorizationImageRepo
from tests.support.builders import OTHER_PROJECT, PROJECT, admin, make_image, member
from tests.unit.layers.recording import RecordingFactory, RecordingRepo


def authorized(inner, ctx):
    """The layer over ``inner``, asking ``inner.member_status`` who is a member."""
    return AuthorizationImageRepo(inner, ctx, inner.member_status)


def test_non_admin_may_not_create_for_another_owner():
    inner = RecordingFactory()
    with pytest.raises(errors.Forbidden, match=f"owned by '{OTHER_PROJECT}'"):
        AuthorizationImageFactory(inner, member()).new_image(OTHER_PROJECT, name="x")
    assert inner.calls == []


def test_non_admin_may_not_create_without_owner():
    inner = RecordingFactory()
    with pytest.raises(errors.Forbidden):
        AuthorizationImageFactory(inner, member()).new_image(None)
    assert inner.calls == []


def test_non_admin_creates_for_own_project():
    inner = RecordingFactory()
    image = AuthorizationImageFactory(inner, member()).new_image(PROJECT, name="x")
    call = inner.only("new_image")
    assert (call.args, call.kwargs) == ((PROJECT,), {"name": "x"})
    assert image.owner == PROJECT


def test_admin_creates_for_anyone():
    inner = RecordingFactory()
    AuthorizationImageFactory(inner, admin()).new_image(OTHER_PROJECT)
    assert inner.only("new_image").args == (OTHER_PROJECT,)


@pytest.mark.parametrize(
    ("owner", "visibility", "membership"),
    [
        (PROJECT, "private", None),  # own image
        (OTHER_PROJECT, "public", None),
        (OTHER_PROJECT, "community", None),
        (OTHER_PROJECT, "shared", "accepted"),
        (OTHER_PROJECT, "shared", "pending"),
        (None, "private", None),  # ownerless images are everyone's (Glance)
    ],
)
def test_get_visible(owner, visibility, membership):
    image = make_image(owner=owner, visibility=visibility)
    inner = RecordingRepo(get=image, member_status=membership)
    assert authorized(inner, member()).get(image.id) is image
    assert inner.calls[0].args == (image.id,)


@pytest.mark.parametrize("visibility", ["private", "shared"])
def test_get_invisible_is_not_found(visibility):
    image = make_image(owner=OTHER_PROJECT, visibility=visibility)
    inner = RecordingRepo(get=image, member_status=None)
    with pytest.raises(errors.NotFound, match=image.id):
        authorized(inner, member()).get(image.id)
    if visibility == "shared":
        assert inner.only("member_status").args == (image.id, PROJECT)


def test_admin_sees_private_images_of_others():
    image = make_image(owner=OTHER_PROJECT, visibility="private")
    assert authorized(RecordingRepo(get=image), admin()).get(image.id) is image


def test_list_is_scoped_to_the_caller():
    query = ListQuery(project_id="forged", is_admin=True, limit=7, tags=["t"])
    inner = RecordingRepo(list=["result"])
    assert authorized(inner, member()).list(query) == ["result"]
    passed = inner.only("list").args[0]
    assert (passed.project_id, passed.is_admin) == (PROJECT, False)
    assert (passed.limit, passed.tags) == (7, ["t"])
    assert (query.project_id, query.is_admin) == ("forged", True)  # the caller's is untouched


def test_list_as_admin():
    inner = RecordingRepo()
    authorized(inner, admin("adm")).list(ListQuery(None, False, limit=1))
    passed = inner.only("list").args[0]
    assert (passed.project_id, passed.is_admin) == ("adm", True)


def _write_ops(image):
    return {
        "save": lambda repo: repo.save(image, from_state="queued"),
        "remove": lambda repo: repo.remove(image),
        "begin_upload": lambda repo: repo.begin_upload(image, UploadTerms()),
    }


@pytest.mark.parametrize("op", ["save", "remove", "begin_upload"])
def test_non_owner_may_not_write(op):
    image = make_image(owner=OTHER_PROJECT, visibility="public")
    inner = RecordingRepo()
    with pytest.raises(errors.Forbidden, match="You do not own this image"):
        _write_ops(image)[op](authorized(inner, member()))
    assert inner.calls == []


@pytest.mark.parametrize("op", ["save", "remove", "begin_upload"])
@pytest.mark.parametrize("ctx", [member, admin], ids=["owner", "admin"])
def test_owner_or_admin_may_write(op, ctx):
    image = make_image(owner=PROJECT)
    inner = RecordingRepo()
    _write_ops(image)[op](authorized(inner, ctx()))
    assert inner.names() == [op]
    assert inner.calls[0].args[0] is image


def test_save_passes_from_state():
    image = make_image()
    inner = RecordingRepo()
    authorized(inner, member()).save(image, from_state="saving")
    assert inner.only("save").kwargs == {"from_state": "saving"}


def test_owner_change_by_non_admin_is_forbidden():
    image = make_image(owner=PROJECT)
    image.owner = OTHER_PROJECT
    inner = RecordingRepo()
    with pytest.raises(errors.Forbidden, match="Owner can't be updated by non admin"):
        authorized(inner, member()).save(image)
    assert inner.calls == []


def test_non_owner_taking_ownership_is_forbidden():
    image = make_image(owner=OTHER_PROJECT, visibility="public")
    image.owner = PROJECT
    inner = RecordingRepo()
    with pytest.raises(errors.Forbidden):
        authorized(inner, member()).save(image)
    assert inner.calls == []


def test_owner_change_by_admin():
    image = make_image(owner=PROJECT)
    image.owner = OTHER_PROJECT
    inner = RecordingRepo()
    authorized(inner, admin()).save(image)
    assert inner.only("save").images[0].owner == OTHER_PROJECT


def test_begin_upload_passes_the_terms_and_returns_the_inner_session():
    image = make_image(owner=PROJECT)
    terms = UploadTerms(size_cap=5)
    inner = RecordingRepo()
    session = authorized(inner, member()).begin_upload(image, terms)
    assert inner.only("begin_upload").args == (image, terms)
    assert session.image is image
