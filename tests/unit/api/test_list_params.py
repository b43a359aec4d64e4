"""The ``GET /v2/images`` query grammar: operators, ``in:`` lists, times, sort syntaxes."""

from __future__ import annotations

import datetime as dt

import pytest

from imgreg.api import list_params
from imgreg.api.list_params import (
    page_link,
    parse_field_filter,
    parse_list_query,
    parse_sort,
    parse_time_filter,
    split_in_list,
    split_operator,
)
from imgreg.domain import errors

ID = "0a0b0c0d-0000-4000-8000-000000000001"


def parse(query: str, default: int = 25, maximum: int = 1000):
    pairs = [tuple(p.split("=", 1)) for p in query.split("&") if p]
    return parse_list_query(pairs, default, maximum)


def invalid(query: str) -> str:
    with pytest.raises(errors.Invalid) as info:
        parse(query)
    return info.value.message


# -- operators and in: lists ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("plain", ("eq", "plain")),
        ("eq:a:b", ("eq", "a:b")),
        ("in:a,b", ("in", "a,b")),
        ("gte:5", ("gte", "5")),
        ("eq:", ("eq", "")),
    ],
)
def test_split_operator(value, expected):
    assert split_operator(value) == expected


def test_unknown_operator_names_it():
    with pytest.raises(errors.Invalid, match="Unable to filter by unknown operator 'ubuntu'"):
        split_operator("ubuntu:22.04")


@pytest.mark.parametrize(
    ("text", "items"),
    [
        ("a", ["a"]),
        ("a,b", ["a", "b"]),
        ('a,b,"c, d"', ["a", "b", "c, d"]),
        ('"c, d"', ["c, d"]),
        ('"a,b",c', ["a,b", "c"]),
        ('"say \\"hi\\"",x', ['say "hi"', "x"]),
        ("a,,b", ["a", "", "b"]),
        ("", [""]),
        ("a,", ["a", ""]),
        ('""', [""]),
    ],
)
def test_split_in_list(text, items):
    assert split_in_list(text) == items


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ('a,"b', "not closed"),
        ('"a', "not closed"),
        ('a"b', "before the quote"),
        ('"a"b', "after the quote"),
        ('"a" ,b', "after the quote"),
    ],
)
def test_split_in_list_refuses_bad_quotes(text, why):
    with pytest.raises(errors.Invalid, match=why):
        split_in_list(text)


def test_field_filter_takes_eq_and_in_only():
    assert parse_field_filter("name", "x") == ["x"]
    assert parse_field_filter("name", "eq:ubuntu:22.04") == ["ubuntu:22.04"]
    assert parse_field_filter("status", 'in:active,"queued"') == ["active", "queued"]
    with pytest.raises(errors.Invalid, match="operator 'gt' on status"):
        parse_field_filter("status", "gt:queued")
    with pytest.raises(errors.Invalid, match="unknown operator 'ubuntu'"):
        parse_field_filter("name", "ubuntu:22.04")


# -- times ----------------------------------------------------------------------------------

T = dt.datetime(2026, 11, 27, 18, 22, 20)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-11-27T18:22:20Z", ("eq", T)),
        ("2026-11-27T18:22:20", ("eq", T)),
        ("2026-11-27T20:22:20+02:00", ("eq", T)),
        ("gt:2026-11-27T18:22:20Z", ("gt", T)),
        ("gte:2026-11-27T18:22:20Z", ("gte", T)),
        ("lt:2026-11-27T18:22:20Z", ("lt", T)),
        ("lte:2026-11-27T18:22:20Z", ("lte", T)),
        ("neq:2026-11-27T18:22:20Z", ("neq", T)),
        ("eq:2026-11-27", ("eq", dt.datetime(2026, 11, 27))),
    ],
)
def test_time_filter(value, expected):
    assert parse_time_filter("created_at", value) == expected


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ("gt:yesterday", "Invalid date format"),
        ("yesterday", "Invalid date format"),
        ("2026-13-01T00:00:00Z", "unknown operator '2026-13-01T00'"),
        ("in:2026-11-27T18:22:20Z", "operator 'in' on created_at"),
        ("since:2026-11-27T18:22:20Z", "unknown operator 'since'"),
    ],
)
def test_bad_time_filter(value, why):
    with pytest.raises(errors.Invalid, match=why):
        parse_time_filter("created_at", value)


# -- sort -----------------------------------------------------------------------------------


def sort_of(query: str) -> list[tuple[str, str]]:
    return parse_sort([tuple(p.split("=", 1)) for p in query.split("&") if p])


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", [("created_at", "desc"), ("id", "desc")]),
        ("sort_dir=asc", [("created_at", "asc"), ("id", "asc")]),
        ("sort_key=name", [("name", "desc"), ("created_at", "desc"), ("id", "desc")]),
        (
            "sort_key=name&sort_key=size&sort_dir=asc",
            [("name", "asc"), ("size", "asc"), ("created_at", "asc"), ("id", "asc")],
        ),
        (
            "sort_key=name&sort_key=size&sort_dir=asc&sort_dir=desc",
            [("name", "asc"), ("size", "desc"), ("created_at", "desc"), ("id", "desc")],
        ),
        ("sort_key=id&sort_dir=asc", [("id", "asc"), ("created_at", "asc")]),
        ("sort_key=created_at", [("created_at", "desc"), ("id", "desc")]),
        (
            "sort=name:asc,size",
            [("name", "asc"), ("size", "desc"), ("created_at", "desc"), ("id", "desc")],
        ),
        ("sort=name:asc", [("name", "asc"), ("created_at", "asc"), ("id", "asc")]),
        ("sort= status : asc ", [("status", "asc"), ("created_at", "asc"), ("id", "asc")]),
        ("sort=updated_at", [("updated_at", "desc"), ("created_at", "desc"), ("id", "desc")]),
        ("sort_key=name&sort_key=name", [("name", "desc"), ("created_at", "desc"), ("id", "desc")]),
    ],
)
def test_sort(query, expected):
    assert sort_of(query) == expected


@pytest.mark.parametrize(
    ("query", "why"),
    [
        ("sort=name&sort_key=size", "Old and new sorting syntax cannot be combined"),
        ("sort=name&sort_dir=asc", "Old and new sorting syntax cannot be combined"),
        ("sort_key=name&sort_key=size&sort_dir=asc&sort_dir=desc&sort_dir=asc", "Number of sort"),
        ("sort_dir=asc&sort_dir=desc", "Number of sort dirs does not match"),
        ("sort_key=owner", "Invalid sort key: owner"),
        ("sort_key=os_distro", "Invalid sort key: os_distro"),
        ("sort_dir=up", "Invalid sort direction: up"),
        ("sort=name:up", "Invalid sort direction: up"),
        ("sort=owner:asc", "Invalid sort key: owner"),
        ("sort=", "Invalid sort key: ."),
    ],
)
def test_bad_sort(query, why):
    with pytest.raises(errors.Invalid, match=why):
        sort_of(query)


# -- the whole query ------------------------------------------------------------------------


def test_defaults():
    q = parse("")
    assert (q.limit, q.marker_id, q.visibility, q.member_status, q.os_hidden) == (
        25,
        None,
        None,
        "accepted",
        False,
    )
    assert (q.exact, q.ranges, q.tags, q.properties) == ({}, [], [], {})
    assert q.sort == [("created_at", "desc"), ("id", "desc")]


@pytest.mark.parametrize(
    ("query", "limit"), [("limit=5", 5), ("limit=0", 0), ("limit=5000", 1000), ("", 25)]
)
def test_limit(query, limit):
    assert parse(query).limit == limit


def test_default_limit_is_clamped_too():
    assert parse("", default=50, maximum=10).limit == 10


@pytest.mark.parametrize("query", ["limit=x", "limit=-1", "limit=1.5", "limit="])
def test_bad_limit(query):
    assert "limit" in invalid(query)


def test_marker_is_normalized_and_checked():
    assert parse(f"marker={ID.upper()}").marker_id == ID
    assert "marker" in invalid("marker=nope")


def test_filters_land_where_the_sql_expects_them():
    q = parse(
        "name=in:a,b&status=active&id=eq:x&disk_format=qcow2&container_format=in:bare,ovf"
        "&owner=p1&checksum=abc&min_ram=512&protected=true&os_hidden=true"
        "&size_min=1&size_max=10&created_at=gt:2026-11-27T18:22:20Z"
        "&updated_at=2026-11-27T18:22:20Z&tag=t1&tag=t2&os_distro=ubuntu"
        "&visibility=community&member_status=all"
    )
    assert q.exact == {
        "name": ["a", "b"],
        "status": ["active"],
        "id": ["x"],
        "disk_format": ["qcow2"],
        "container_format": ["bare", "ovf"],
        "owner": ["p1"],
        "checksum": ["abc"],
        "min_ram": [512],
        "protected": [True],
    }
    assert sorted(q.ranges) == sorted(
        [
            ("created_at", "gt", T),
            ("updated_at", "eq", T),
            ("size", "gte", 1),
            ("size", "lte", 10),
        ]
    )
    assert (q.tags, q.properties) == (["t1", "t2"], {"os_distro": "ubuntu"})
    assert (q.os_hidden, q.visibility, q.member_status) == (True, "community", "all")


def test_the_last_of_a_repeated_parameter_wins_but_tags_add_up():
    q = parse("name=a&name=b&os_distro=x&os_distro=y&limit=3&limit=4&tag=a&tag=b&tag=a")
    assert (q.exact["name"], q.properties["os_distro"], q.limit) == (["b"], "y", 4)
    assert q.tags == ["a", "b", "a"]


def test_os_hidden_ignores_case_but_protected_does_not():
    # Glance lowercases os_hidden (openstacksdk sends "True"); protected must be lowercase.
    assert parse("os_hidden=True").os_hidden is True
    assert parse("os_hidden=FALSE").os_hidden is False
    assert "protected" in invalid("protected=True")


def test_property_values_are_taken_literally():
    assert parse("os_distro=in:a,b").properties == {"os_distro": "in:a,b"}
    assert parse("owner=x:y").exact == {"owner": ["x:y"]}


@pytest.mark.parametrize(
    ("query", "why"),
    [
        ("visibility=everything", "visibility"),
        ("visibility=", "visibility"),
        ("member_status=maybe", "member_status"),
        ("os_hidden=1", "os_hidden"),
        ("os_hidden=yes", "os_hidden"),
        ("protected=True", "protected"),
        ("protected=", "protected"),
        ("size_min=big", "size_min"),
        ("size_max=1.5", "size_max"),
        ("min_ram=lots", "min_ram"),
        ("size_min=9223372036854775808", "out of range"),
        ("name=a\x00b", "NUL"),
        ("changes-since=2026-01-01T00:00:00Z", "no longer available on v2"),
        ("name=ubuntu:22.04", "unknown operator 'ubuntu'"),
        ("status=gt:queued", "operator 'gt' on status"),
        ('name=in:a,"b', "not closed"),
        ("created_at=after:2026-01-01", "unknown operator 'after'"),
        ("updated_at=gt:soon", "Invalid date format"),
    ],
)
def test_invalid_queries(query, why):
    assert why in invalid(query)


def test_page_links_keep_every_other_parameter():
    pairs = [("limit", "2"), ("tag", "a"), ("marker", ID), ("tag", "b c")]
    assert page_link(pairs) == "/v2/images?limit=2&tag=a&tag=b+c"
    assert page_link(pairs, marker="m") == "/v2/images?limit=2&tag=a&tag=b+c&marker=m"
    assert page_link([("marker", ID)]) == "/v2/images"


def test_no_special_key_becomes_a_property_filter():
    q = parse(
        "limit=1&sort_key=name&sort_dir=asc&tag=t&visibility=all&member_status=all"
        "&os_hidden=false&protected=false&size_min=0&size_max=9"
        "&created_at=2026-11-27T18:22:20Z&updated_at=2026-11-27T18:22:20Z"
        "&name=n&id=i&status=s&container_format=c&disk_format=d"
    )
    assert q.properties == {}
    assert set(list_params.SPECIAL) - {"marker", "sort", "changes-since"} <= {
        *q.exact,
        *(r[0] for r in q.ranges),
        "limit", "sort_key", "sort_dir", "tag", "visibility", "member_status", "os_hidden",
        "size_min", "size_max",
    }  # fmt: skip
