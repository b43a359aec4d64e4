"""Horizon's Images panel against imgreg, in a real browser: each step asserts what the page
shows and what imgreg's API holds."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec

from tests.support.cloud import Api, unique
from tests.support.server import Server


@pytest.fixture(scope="module")
def qcow2_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("images") / "cirros-like.qcow2"
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(path), "16M"], check=True)
    return path


def test_member_creates_edits_and_deletes_an_image_by_legacy_upload(
    keystone: dict[str, Any], imgreg: Server, horizon: str, browser_factory: Any, qcow2_file: Path
) -> None:
    api = Api(keystone, imgreg, "p1-member", "p1")
    b = browser_factory(horizon)
    b.login("p1-member")
    name = unique("legacy")
    b.create_image(name, qcow2_file)
    b.text_appears("table", name)
    b.shot("listed")
    # Horizon's legacy mode uploads on a thread of its own after answering the browser
    b.wait(lambda d: [i["status"] for i in api.by_name(name)] == ["active"])
    [image] = api.by_name(name)
    assert (image["disk_format"], image["container_format"]) == ("qcow2", "bare")
    assert image["size"] == qcow2_file.stat().st_size
    assert image["owner"] == keystone["projects"]["p1"]

    b.click_button(name)
    b.text_appears("dl", image["id"])
    b.shot("detail")
    fields = b.fields()
    assert fields["ID"] == image["id"]
    assert fields["Name"] == name
    assert fields["Status"] == "Active"
    assert fields["Disk Format"] == "QCOW2"
    assert fields["Container Format"] == "BARE"
    assert fields["Owner"] == image["owner"]
    assert fields["Checksum"] == image["checksum"]
    assert fields["Visibility"] == "Shared"
    assert fields["Protected"] == "No"
    assert fields["os_hash_value"] == image["os_hash_value"]
    assert fields["Virtual Size"] == str(image["virtual_size"]) == str(16 * 1024 * 1024)

    b.item_action("Edit Image")
    new_name = unique("renamed")
    b.retype("#imageForm-name", new_name)
    b.click("div[name='visibility'] label:nth-child(1)")
    b.shot("edit")
    b.click(".modal-footer button.finish")
    b.text_appears("dl", new_name)
    image = api.image(image["id"])
    assert (image["name"], image["visibility"]) == (new_name, "private")

    # Horizon offers Update Metadata to those Glance's policy lets modify metadefs: an admin
    admin = browser_factory(horizon)
    admin.login("p1-admin")
    admin.get(f"/ngdetails/OS::Glance::Image/{image['id']}")
    admin.text_appears("dl", new_name)
    admin.item_action("Update Metadata")
    admin.find("input[ng-model='ctrl.filterText.available']").send_keys("OS Version")
    namespace = "//li[.//span[normalize-space()='Common Operating System Properties']]"
    admin.wait(ec.element_to_be_clickable((By.XPATH, f"{namespace}//span[@ng-bind]"))).click()
    admin.click_button("", within="//li[.//span[normalize-space()='OS Version']]")
    added = "//li[.//*[normalize-space()='os_version']]//input[@name='property']"
    admin.retype(added, "24.04", by=By.XPATH)
    admin.shot("metadata")
    admin.click_button("Save", within="//*[contains(@class, 'modal-footer')]")
    admin.wait(lambda d: api.image(image["id"]).get("os_version") == "24.04")
    b.driver.refresh()  # the member's detail page shows it among the custom properties
    b.wait(lambda d: b.fields().get("os_version") == "24.04")
    b.shot("detail-metadata")

    b.item_action("Delete Image")
    b.click_button("Delete Image", within="//*[contains(@class, 'modal-footer')]")
    b.wait(lambda d: api.status(image["id"]) == 404)
    b.get("/project/images/")
    b.find("table")
    b.wait(lambda d: new_name not in b.body())


def test_member_creates_an_image_by_direct_upload(
    keystone: dict[str, Any],
    imgreg: Server,
    horizon_direct: str,
    browser_factory: Any,
    qcow2_file: Path,
) -> None:
    """Horizon's direct mode: the browser PUTs the file to imgreg itself, across origins (the
    CORS filter's preflight answer lets it), with the token Horizon hands it."""
    api = Api(keystone, imgreg, "p1-member", "p1")
    b = browser_factory(horizon_direct)
    b.login("p1-member")
    name = unique("direct")
    b.create_image(name, qcow2_file)
    b.text_appears("table", name)
    b.wait(lambda d: [i["status"] for i in api.by_name(name)] == ["active"])
    [image] = api.by_name(name)
    assert image["size"] == qcow2_file.stat().st_size
    assert image["virtual_size"] == 16 * 1024 * 1024
    b.driver.refresh()
    b.text_appears("table", name)
    row = f"//tr[.//*[normalize-space()='{name}']]"
    b.wait(lambda d: "Active" in d.find_element(By.XPATH, row).text)
    b.shot("listed")
    # the data came from the browser itself, after a CORS preflight
    upload = f"/v2/images/{image['id']}/file HTTP/1.1"
    lines = [line for line in imgreg.access_log().splitlines() if upload in line]
    assert [line.split('"')[1].split()[0] for line in lines] == ["OPTIONS", "PUT"], lines
    assert all(f'"{horizon_direct}/"' in line and "HeadlessChrome" in line for line in lines)
