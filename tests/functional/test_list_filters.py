"""``GET /v2/images`` filters (Glance §2.5), through the whole app."""

from __future__ import annotations

import datetime as dt
import hashlib
import urllib.parse
from typing import Any

import pytest
from sqlalchemy import insert, update

from imgreg.db.models import ImageRow, MemberRow
from imgreg.services import wiring
from tests.support.client import client_with, listed_ids, new_image


def set_row(image_id: str, **values: Any) -> None:
    """Change columns the API cannot set (status ``killed``, timestamps) straight in the DB."""
    with wiring.services().db.engine.begin() as conn:
        conn.execute(update(ImageRow).where(ImageRow.id == image_id).values(**values))


def share(image_id: str, member: str, status: str) -> None:
    now = dt.datetime(2026, 1, 1)
    with wiring.services().db.engine.begin() as conn:
        conn.execute(
            insert(MemberRow).values(
                image_id=image_id,
                member=member,
                status=status,
                created_at=now,
                updated_at=now,
                deleted=False,
            )
        )


def q(**params: Any) -> str:
    return "?" + urllib.parse.urlencode(params, doseq=True)


def names(client, query: str = "") -> set[str]:
    resp = client.get(f"/v2/images{query}")
    assert resp.status_int == 200, resp.text
    return {image["name"] for image in resp.json["images"]}


def refused(client, query: str) -> str:
    resp = client.get(f"/v2/images{query}")
    assert resp.status_int == 400, resp.text
    return resp.text


# -- name, id, status, formats: eq and in: --------------------------------------------------


@pytest.fixture
def named(api):
    for name, disk, container in [
        ("alpha", "raw", "bare"),
        ("beta", "qcow2", "bare"),
        ("c, d", "qcow2", "ovf"),
        ("ubuntu:22.04", "iso", "bare"),
    ]:
        api.create(name=name, disk_format=disk, container_format=container)
    return api


def test_name_exact(named):
    assert names(named, q(name="beta")) == {"beta"}
    assert names(named, q(name="gamma")) == set()


def test_name_in_list_with_a_quoted_comma(named):
    assert names(named, q(name='in:alpha,"c, d",nope')) == {"alpha", "c, d"}
    assert names(named, q(name="in:alpha,beta")) == {"alpha", "beta"}


def test_name_with_a_colon_needs_eq(named):
    assert names(named, q(name="eq:ubuntu:22.04")) == {"ubuntu:22.04"}
    assert "Unable to filter by unknown operator 'ubuntu'" in refused(named, q(name="ubuntu:22.04"))


@pytest.mark.parametrize(
    "query",
    [
        q(name='in:alpha,"c, d'),
        q(name="gt:alpha"),
        q(status="gt:queued"),
        q(id="neq:x"),
        q(disk_format="lte:raw"),
        q(container_format="like:bare"),
    ],
)
def test_bad_field_filters_are_400(named, query):
    refused(named, query)


def test_id_in_list(api):
    a, b, _c = (api.create(name=n)["id"] for n in "abc")
    assert set(listed_ids(api, q(id=f"in:{a},{b}"))) == {a, b}
    assert listed_ids(api, q(id=a)) == [a]


def test_formats(named):
    assert names(named, q(disk_format="qcow2")) == {"beta", "c, d"}
    assert names(named, q(disk_format="in:raw,iso")) == {"alpha", "ubuntu:22.04"}
    assert names(named, q(container_format="ovf")) == {"c, d"}
    assert names(named, q(container_format="in:ovf,bare", disk_format="qcow2")) == {"beta", "c, d"}


def test_status_and_never_killed_or_deleted(api):
    new_image(api, b"data", name="active")
    api.create(name="queued")
    killed = api.create(name="killed")["id"]
    set_row(killed, status="killed")
    gone = api.create(name="gone")["id"]
    assert api.delete(f"/v2/images/{gone}").status_int == 204
    assert names(api) == {"active", "queued"}
    assert names(api, q(status="active")) == {"active"}
    assert names(api, q(status="in:active,queued,killed,deleted")) == {"active", "queued"}
    assert names(api, q(status="killed")) == set()
    assert names(api, q(status="deleted")) == set()
    assert names(api, q(visibility="all", os_hidden="false")) == {"active", "queued"}


# -- visibility and member_status -----------------------------------------------------------


@pytest.fixture
def population(api):
    def make(name: str, owner: str, visibility: str) -> str:
        return api.create(name=name, owner=owner, visibility=visibility)["id"]

    make("public", "p2", "public")
    make("p1_private", "p1", "private")
    make("p1_shared", "p1", "shared")
    make("p1_community", "p1", "community")
    make("p2_private", "p2", "private")
    make("p2_community", "p2", "community")
    make("p3_shared_unshared", "p3", "shared")
    for status in ("accepted", "pending", "rejected"):
        share(make(f"p2_shared_{status}", "p2", "shared"), "p1", status)
    return api


OWN = {"p1_private", "p1_shared", "p1_community"}
DEFAULT_P1 = {"public", *OWN, "p2_shared_accepted"}


def test_default_visibility_of_a_project(population):
    assert names(population.as_("p1")) == DEFAULT_P1


@pytest.mark.parametrize(
    ("visibility", "expected"),
    [
        ("public", {"public"}),
        ("private", {"p1_private"}),
        ("shared", {"p1_shared", "p2_shared_accepted"}),
        ("community", {"p1_community", "p2_community"}),
        ("all", DEFAULT_P1 | {"p2_community"}),
    ],
)
def test_visibility_filter_for_a_project(population, visibility, expected):
    assert names(population.as_("p1"), q(visibility=visibility)) == expected


@pytest.mark.parametrize(
    ("member_status", "expected"),
    [
        ("accepted", DEFAULT_P1),
        ("pending", {"public", *OWN, "p2_shared_pending"}),
        ("rejected", {"public", *OWN, "p2_shared_rejected"}),
        ("all", {"public", *OWN, "p2_shared_accepted", "p2_shared_pending", "p2_shared_rejected"}),
    ],
)
def test_member_status_picks_the_shares_listed(population, member_status, expected):
    assert names(population.as_("p1"), q(member_status=member_status)) == expected


def test_member_status_with_visibility_shared(population):
    expected = {"p1_shared", "p2_shared_pending"}
    assert names(population.as_("p1"), q(visibility="shared", member_status="pending")) == expected


def test_admin_sees_everything_but_other_projects_community_images(population):
    every = {
        "public", *OWN, "p2_private", "p2_community", "p3_shared_unshared",
        "p2_shared_accepted", "p2_shared_pending", "p2_shared_rejected",
    }  # fmt: skip
    assert names(population) == every - {"p1_community", "p2_community"}
    assert names(population, q(visibility="community")) == {"p1_community", "p2_community"}
    assert names(population, q(visibility="all")) == every
    assert names(population.as_("p9", roles="admin"), q(visibility="private")) == {
        "p1_private",
        "p2_private",
    }


@pytest.mark.parametrize(
    "query", [q(visibility="everything"), q(visibility=""), q(member_status="maybe")]
)
def test_bad_visibility_or_member_status_is_400(population, query):
    refused(population.as_("p1"), query)


def test_owner_is_intersected_with_visibility(population):
    assert names(population.as_("p1"), q(owner="p2")) == {"public", "p2_shared_accepted"}
    assert names(population.as_("p1"), q(owner="p1", visibility="private")) == {"p1_private"}
    assert names(population.as_("p3"), q(owner="p1")) == set()
    assert names(population, q(owner="p2")) == {
        "public", "p2_private", "p2_shared_accepted", "p2_shared_pending", "p2_shared_rejected",
    }  # fmt: skip


# -- tags, sizes, hidden, protected ---------------------------------------------------------


def test_tags_are_anded(api):
    api.create(name="both", tags=["t1", "t2", "t3"])
    api.create(name="one", tags=["t1"])
    api.create(name="none")
    assert names(api, "?tag=t1") == {"both", "one"}
    assert names(api, "?tag=t1&tag=t2") == {"both"}
    assert names(api, "?tag=t1&tag=nope") == set()


def test_size_bounds_are_inclusive_and_null_never_matches(api):
    for size in (1, 5, 10):
        new_image(api, b"x" * size, name=f"s{size}")
    api.create(name="no size")
    assert names(api, q(size_min=5)) == {"s5", "s10"}
    assert names(api, q(size_max=5)) == {"s1", "s5"}
    assert names(api, q(size_min=5, size_max=5)) == {"s5"}
    assert names(api, q(size_min=0)) == {"s1", "s5", "s10"}
    assert names(api, q(size_min=11)) == set()
    assert names(api, q(size=10)) == {"s10"}
    assert "size_min" in refused(api, q(size_min="big"))
    assert "size_max" in refused(api, q(size_max="1.5"))


def test_hidden_images_only_on_request(api):
    api.create(name="shown")
    api.create(name="hidden", os_hidden=True)
    api.as_("p1").create(name="p1 hidden", os_hidden=True)
    assert names(api) == {"shown"}
    assert names(api.as_("p1")) == set()  # even for the owner
    assert names(api, q(os_hidden="false")) == {"shown"}
    assert names(api, q(os_hidden="true")) == {"hidden", "p1 hidden"}
    assert names(api.as_("p1"), q(os_hidden="true")) == {"p1 hidden"}
    assert names(api, q(os_hidden="True")) == {"hidden", "p1 hidden"}  # as openstacksdk sends
    for bad in ("1", "yes", ""):
        assert "os_hidden" in refused(api, q(os_hidden=bad))


def test_protected(api):
    api.create(name="locked", protected=True)
    api.create(name="open")
    assert names(api, q(protected="true")) == {"locked"}
    assert names(api, q(protected="false")) == {"open"}
    assert "protected" in refused(api, q(protected="True"))


# -- times ----------------------------------------------------------------------------------

T0 = dt.datetime(2026, 1, 1, 12, 0, 0)


@pytest.fixture
def dated(api):
    for day in range(3):
        image = api.create(name=f"d{day}")
        when = T0 + dt.timedelta(days=day)
        set_row(image["id"], created_at=when, updated_at=when + dt.timedelta(hours=1))
    return api


def iso(day: int, hours: int = 0) -> str:
    return (T0 + dt.timedelta(days=day, hours=hours)).strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (iso(1), {"d1"}),
        (f"eq:{iso(1)}", {"d1"}),
        (f"neq:{iso(1)}", {"d0", "d2"}),
        (f"gt:{iso(1)}", {"d2"}),
        (f"gte:{iso(1)}", {"d1", "d2"}),
        (f"lt:{iso(1)}", {"d0"}),
        (f"lte:{iso(1)}", {"d0", "d1"}),
        ("gt:2026-01-02T14:00:00+02:00", {"d2"}),  # 12:00 UTC on day 1
        ("eq:2026-01-02T14:00:00+02:00", {"d1"}),
    ],
)
def test_created_at(dated, value, expected):
    assert names(dated, q(created_at=value)) == expected


def test_updated_at(dated):
    assert names(dated, q(updated_at=f"gte:{iso(1, 1)}")) == {"d1", "d2"}
    assert names(dated, q(updated_at=iso(0, 1))) == {"d0"}
    assert names(dated, q(updated_at=f"lt:{iso(0, 1)}")) == set()
    both = q(created_at=f"gte:{iso(1)}", updated_at=f"lt:{iso(2, 1)}")
    assert names(dated, both) == {"d1"}


@pytest.mark.parametrize(
    "value", ["after:2026-01-01T00:00:00Z", "gt:tomorrow", "yesterday", "in:2026-01-01", "gt:"]
)
def test_bad_time_filters_are_400(dated, value):
    refused(dated, q(created_at=value))
    refused(dated, q(updated_at=value))


def test_changes_since_is_gone(api):
    assert "no longer available on v2" in refused(api, q(**{"changes-since": iso(0)}))


# -- other columns and extra properties -----------------------------------------------------


def test_column_filters(api):
    data = new_image(api, b"some bytes", name="data", min_ram=512, min_disk=2)
    api.create(name="empty", min_ram=256)
    assert data["checksum"] == hashlib.md5(b"some bytes").hexdigest()
    assert names(api, q(checksum=data["checksum"])) == {"data"}
    assert names(api, q(os_hash_value=data["os_hash_value"])) == {"data"}
    assert names(api, q(os_hash_algo="sha512")) == {"data"}
    assert names(api, q(checksum="0" * 32)) == set()
    assert names(api, q(min_ram=512)) == {"data"}
    assert names(api, q(min_ram=256)) == {"empty"}
    assert names(api, q(min_disk=2)) == {"data"}
    assert names(api, q(min_disk=0)) == {"empty"}
    assert "min_ram" in refused(api, q(min_ram="lots"))


def test_extra_properties(api):
    api.create(name="ubuntu", os_distro="ubuntu", hw_arch="x86_64")
    api.create(name="fedora", os_distro="fedora", hw_arch="x86_64")
    api.create(name="plain")
    assert names(api, q(os_distro="ubuntu")) == {"ubuntu"}
    assert names(api, q(hw_arch="x86_64")) == {"ubuntu", "fedora"}
    assert names(api, q(hw_arch="x86_64", os_distro="fedora")) == {"fedora"}
    assert names(api, q(os_distro="in:ubuntu,fedora")) == set()  # taken literally
    assert names(api, q(no_such_property="x")) == set()


def test_a_repeated_parameter_keeps_its_last_value(named):
    assert names(named, "?name=alpha&name=beta") == {"beta"}
    assert names(named, "?disk_format=raw&disk_format=qcow2&name=beta") == {"beta"}


def test_filters_combine(api):
    new_image(api, b"12345", name="match", tags=["t"], os_distro="x", visibility="public")
    new_image(api, b"12345", name="wrong tag", tags=["u"], os_distro="x", visibility="public")
    api.create(name="no data", tags=["t"], os_distro="x", visibility="public")
    query = q(tag="t", os_distro="x", size_min=5, status="active", visibility="public")
    assert names(api, query) == {"match"}


def test_filtering_on_an_unreadable_property_finds_nothing(conf, tmp_path):
    rules = tmp_path / "protections.conf"
    rules.write_text(
        "[^x_secret_.*]\ncreate = admin\nread = admin\nupdate = admin\ndelete = admin\n\n"
        "[.*]\ncreate = @\nread = @\nupdate = @\ndelete = @\n"
    )
    admin = client_with(conf, property_protection_file=str(rules))
    admin.create(name="secret", visibility="public", x_secret_level="high")
    assert names(admin, q(x_secret_level="high")) == {"secret"}
    member = admin.as_("p1")
    assert names(member) == {"secret"}
    assert names(member, q(x_secret_level="high")) == set()
    assert names(member, q(x_secret_level="low")) == set()
