"""Horizon's image list as another project's member sees a shared image, and the list's
server-side filters, against what imgreg's API answers for the same user and filter."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

from tests.support.cloud import Api, unique
from tests.support.server import Server


def qcow2_bytes(tmp_path: Path) -> bytes:
    path = tmp_path / "small.qcow2"
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(path), "1M"], check=True)
    return path.read_bytes()


def test_filters_of_the_images_list(
    keystone: dict[str, Any], imgreg: Server, horizon: str, browser_factory: Any, tmp_path: Path
) -> None:
    api = Api(keystone, imgreg, "p1-admin", "p1")
    tag = unique("f")
    alpha = api.create(qcow2_bytes(tmp_path), name=f"alpha-{tag}", disk_format="qcow2")
    beta = api.create(bytes(4096), name=f"beta-{tag}", disk_format="raw")
    gamma = api.create(name=f"gamma-{tag}", disk_format="qcow2")  # no data: queued
    delta = api.create(
        bytes(1024), name=f"delta-{tag}", disk_format="raw", visibility="private", protected=True
    )
    b = browser_factory(horizon)
    b.login("p1-admin")
    b.get("/project/images/")
    made = {alpha["name"], beta["name"], gamma["name"], delta["name"]}
    b.wait(lambda d: made <= b.table_names())
    b.shot("images-list")

    b.filter_by("Name", text=alpha["name"])
    b.wait(lambda d: b.table_names() == {alpha["name"]} == api.names(name=alpha["name"]))
    b.click(".magic-search-clear")

    b.filter_by("Format", option="QCOW2")
    qcow2 = api.names(disk_format="qcow2")
    assert {alpha["name"], gamma["name"]} <= qcow2 and beta["name"] not in qcow2
    b.wait(lambda d: b.table_names() == qcow2)
    b.click(".magic-search-clear")

    b.filter_by("Status", option="Queued")
    queued = api.names(status="queued")
    assert gamma["name"] in queued and alpha["name"] not in queued
    b.wait(lambda d: b.table_names() == queued)
    b.click(".magic-search-clear")

    for facet, option, query in (
        ("Visibility", "Private", {"visibility": "private"}),
        ("Protected", "Yes", {"protected": "true"}),
    ):
        expected = api.names(**query)
        assert delta["name"] in expected and alpha["name"] not in expected
        b.filter_by(facet, option=option)
        b.wait(lambda d, expected=expected: b.table_names() == expected)
        b.click(".magic-search-clear")

    b.filter_by("Min. Size (bytes)", text="100000")  # alpha's qcow2 is 192 KiB, beta 4 KiB
    larger = api.names(size_min="100000")
    assert alpha["name"] in larger and beta["name"] not in larger
    b.wait(lambda d: b.table_names() == larger)
    b.shot("filtered")


def test_image_shared_with_another_project(
    keystone: dict[str, Any], imgreg: Server, horizon: str, browser_factory: Any, tmp_path: Path
) -> None:
    """Horizon 27 has no page for image members: the owner shares through the API (as the
    glance CLI does) and the other project's member accepts with its own login; what that
    member's Horizon lists follows the member status imgreg keeps."""
    owner = Api(keystone, imgreg, "p1-member", "p1")
    other = Api(keystone, imgreg, "p2-member", "p2")
    image = owner.create(qcow2_bytes(tmp_path), name=unique("shared"), disk_format="qcow2")
    p2 = keystone["projects"]["p2"]
    resp = owner.session.post(f"{imgreg.url}/v2/images/{image['id']}/members", json={"member": p2})
    assert resp.json()["status"] == "pending"

    b = browser_factory(horizon)
    b.login("p2-member")
    b.get("/project/images/")
    b.find("table")
    assert image["name"] not in b.table_names()  # pending: not in the member's list

    resp = other.session.put(
        f"{imgreg.url}/v2/images/{image['id']}/members/{p2}", json={"status": "accepted"}
    )
    assert resp.json()["status"] == "accepted"
    b.driver.refresh()
    b.wait(lambda d: image["name"] in b.table_names())
    assert image["name"] in other.names()
    b.click_button(image["name"])
    b.wait(lambda d: b.fields().get("ID") == image["id"])
    fields = b.fields()
    assert fields["Owner"] == keystone["projects"]["p1"]
    assert fields["Visibility"] == "Image from Other Project - Non-Public"  # Horizon's words
    assert fields["Status"] == "Active"
    b.shot("shared-detail")
