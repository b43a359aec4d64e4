"""glance-download's pieces: the endpoint from a service catalog, the properties it copies,
and the context's token and catalog as the context middleware reads them."""

from __future__ import annotations

import json
from typing import Any

import pytest

from imgreg.api.middleware import service_catalog
from imgreg.context import RequestContext
from imgreg.importing.glance_download import copied_properties, find_endpoint

PREFIXES = ["hw_", "trait:", "os_distro", "os_secure_boot", "os_type"]


def image_service(*endpoints: dict[str, Any], kind: str = "image") -> dict[str, Any]:
    return {"type": kind, "name": "glance", "endpoints": list(endpoints)}


def test_the_endpoint_of_the_region_and_interface() -> None:
    catalog = [
        image_service(
            {"region": "RegionTwo", "publicURL": "https://r2:9292", "internalURL": "http://i2"},
            kind="compute",
        ),
        image_service({"region": "RegionOne", "publicURL": "https://r1:9292"}),
        image_service(
            {"region": "RegionTwo", "publicURL": "https://r2:9292", "internalURL": "http://i2"}
        ),
    ]
    assert find_endpoint(catalog, "regiontwo", "public") == "https://r2:9292"
    assert find_endpoint(catalog, "RegionTwo", "internal") == "http://i2"
    assert find_endpoint(catalog, "RegionTwo", "admin") is None
    assert find_endpoint(catalog, "RegionThree", "public") is None


def test_a_keystone_v3_catalog_is_read_too() -> None:
    catalog = [
        image_service(
            {"interface": "internal", "region_id": "R2", "url": "http://internal"},
            {"interface": "public", "region_id": "R2", "url": "https://public"},
        )
    ]
    assert find_endpoint(catalog, "R2", "public") == "https://public"
    assert find_endpoint(catalog, "R2", "internal") == "http://internal"


@pytest.mark.parametrize(
    "catalog",
    [
        [],
        ["image"],
        [{"type": "image"}],
        [{"type": "image", "endpoints": "x"}],
        [{"type": "image", "endpoints": [None, {"region": 3}, {"region": "R2"}]}],
        [{"type": "image", "endpoints": [{"region": "R2", "publicURL": 7}]}],
    ],
)
def test_odd_catalogs_have_no_endpoint(catalog: list[Any]) -> None:
    assert find_endpoint(catalog, "R2", "public") is None


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, []),
        ("", []),
        ("not json", []),
        ('{"type": "image"}', []),
        ("[" * 100000, []),
        ('[1, {"type": "image"}]', [{"type": "image"}]),
    ],
)
def test_the_catalog_header_never_fails(header: str | None, expected: list[Any]) -> None:
    assert service_catalog(header) == expected


def test_a_catalog_header_as_keystonemiddleware_writes_it() -> None:
    catalog = [image_service({"region": "R2", "publicURL": "http://r2"})]
    assert service_catalog(json.dumps(catalog)) == catalog


def test_the_token_is_not_in_the_contexts_repr() -> None:
    ctx = RequestContext("req-1", auth_token="tok-secret", service_catalog=[{"type": "image"}])
    assert "tok-secret" not in repr(ctx)
    assert "tok-secret" not in str(ctx.policy_credentials())


def test_only_properties_with_an_allowed_prefix_are_copied() -> None:
    remote = {
        "id": "x",
        "status": "active",
        "os_hash_value": "abc",
        "os_hash_algo": "sha512",
        "hw_disk_bus": "scsi",
        "trait:CUSTOM_X": "required",
        "os_distro": "ubuntu",
        "os_type": "linux",
        "os_glance_import_task": "t",
        "architecture": "x86_64",
        "hw_cpu_cores": 4,  # not a property's value
    }
    assert copied_properties(remote, PREFIXES) == {
        "hw_disk_bus": "scsi",
        "trait:CUSTOM_X": "required",
        "os_distro": "ubuntu",
        "os_type": "linux",
    }
    # a prefix that matches attributes and reserved names still copies neither
    assert copied_properties(remote, ["os_", ""]) == {"os_distro": "ubuntu", "os_type": "linux"}
