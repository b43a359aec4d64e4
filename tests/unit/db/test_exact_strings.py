"""The repositories compare strings exactly on every database (SQLite, PostgreSQL, MariaDB and
Galera per IMGREG_TEST_DB): keys that differ by case, an accent or a trailing space are
distinct rows, read back as written, and a filter or an owner/member check matches only the
exact string. The API-level findings are in ``tests/functional/test_exact_strings.py``; this
is the part ``tools/test`` also runs on Galera."""

from __future__ import annotations

from imgreg.db.members import SqlMemberRepo
from imgreg.domain.factory import ImageFactory
from imgreg.domain.member import Member
from imgreg.domain.query import ListQuery

# One key to utf8mb4_general_ci; the first and the last one key to utf8mb4_bin (PAD SPACE).
VARIANTS = ("foo", "FOO", "f\u00f6o", "foo ")


def new(repo, owner="p1", **fields):
    image = ImageFactory().new_image(owner, disk_format="raw", container_format="bare", **fields)
    return repo.add(image)


def listed(repo, project="p1", is_admin=False, **filters):
    query = ListQuery(project_id=project, is_admin=is_admin, limit=100, visibility="all", **filters)
    return [image.id for image in repo.list(query)]


def test_property_names_and_tags_that_fold_together_are_distinct_rows(repo):
    props = {name: str(i) for i, name in enumerate(VARIANTS)}
    image = new(repo, extra_properties=props, tags=set(VARIANTS))
    loaded = repo.get(image.id)
    assert (loaded.extra_properties, loaded.tags) == (props, set(VARIANTS))
    # and added to an image that has "foo" already, by a save
    other = new(repo, extra_properties={"foo": "0"}, tags={"foo"})
    loaded = repo.get(other.id)
    loaded.extra_properties.update(props)
    loaded.tags.update(VARIANTS)
    repo.save(loaded)
    again = repo.get(other.id)
    assert (again.extra_properties, again.tags) == (props, set(VARIANTS))


def test_filters_match_the_exact_name_value_and_tag(repo):
    image = new(repo, name="Alpha", extra_properties={"x_admin_secret": "v"}, tags={"Tag"})
    assert listed(repo, properties={"x_admin_secret": "v"}) == [image.id]
    for name, value in (("X_ADMIN_SECRET", "v"), ("x_admin_secret", "V"), ("x_admin_secret ", "v")):
        assert listed(repo, properties={name: value}) == []
    assert listed(repo, tags=["Tag"]) == [image.id]
    assert listed(repo, tags=["tag"]) == listed(repo, tags=["T\u00e4g"]) == []
    assert listed(repo, exact={"name": ["alpha"]}) == listed(repo, exact={"name": ["Alpha "]}) == []


def test_an_owner_differing_by_case_sees_none_of_the_images(repo):
    image = new(repo, owner="ProjA", visibility="private")
    assert listed(repo, project="ProjA") == [image.id]
    for project in ("proja", "PROJA", "Pr\u00f6jA", "ProjA "):
        assert listed(repo, project=project) == []
    assert listed(repo, is_admin=True, exact={"owner": ["proja"]}) == []


def test_a_member_differing_by_case_is_another_project(db, repo):
    image = new(repo, visibility="shared")
    members = SqlMemberRepo(db, image.id)
    members.add(Member.new(image.id, "P2"))
    assert repo.member_status(image.id, "P2") == "pending"
    assert repo.member_status(image.id, "p2") is None
    assert listed(repo, project="p2", member_status="all") == []
    members.add(Member.new(image.id, "p2"))  # not a duplicate of P2
    assert sorted(m.member_id for m in members.list()) == ["P2", "p2"]
