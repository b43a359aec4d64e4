"""Bad input through Horizon's pages ends in an error message Horizon shows, from imgreg's 4xx
or from Horizon's own form checks, never in a 500 page; imgreg keeps no broken image."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from selenium.webdriver.common.by import By

from tests.support.cloud import Api, unique
from tests.support.server import Server

ERROR = "//*[contains(@class, 'alert-danger')]"


@pytest.fixture
def text_file(tmp_path: Path) -> Path:
    path = tmp_path / "notes.qcow2"
    path.write_text("these are release notes, not a disk image\n" * 200)
    return path


def test_text_file_uploaded_directly_as_qcow2(
    keystone: dict[str, Any],
    imgreg: Server,
    horizon_direct: str,
    browser_factory: Any,
    text_file: Path,
) -> None:
    api = Api(keystone, imgreg, "p1-member", "p1")
    b = browser_factory(horizon_direct)
    b.login("p1-member")
    name = unique("not-an-image")
    b.create_image(name, text_file)
    # Horizon's error toast carries imgreg's answer to the browser's PUT: Glance's 415
    toast = b.find_xpath(f"{ERROR}[contains(., 'does not match the content')]")
    b.shot("error")
    assert "Image disk_format qcow2 does not match the content (raw)" in toast.text
    assert '"status":415' in toast.text
    [image] = api.by_name(name)
    assert (image["status"], image["size"], image["checksum"]) == ("queued", None, None)
    assert not list(imgreg.store_dir.glob(f"**/{image['id']}*"))
    assert no_server_error(imgreg)


def no_server_error(imgreg: Server) -> bool:
    statuses = [line.split('"')[2].split()[0] for line in imgreg.access_log().splitlines()]
    return bool(statuses) and not [s for s in statuses if s.startswith("5")]


def posts(imgreg: Server) -> int:
    return imgreg.access_log().count('"POST /v2/images HTTP/1.1"')


def test_oversized_name_is_refused_by_the_form(
    imgreg: Server, horizon: str, browser_factory: Any, tmp_path: Path
) -> None:
    """Horizon's form knows Glance's 255-character limit: it says so, and nothing is sent."""
    path = tmp_path / "empty.raw"
    path.write_bytes(bytes(1024))
    before = posts(imgreg)
    b = browser_factory(horizon)
    b.login("p1-member")
    b.get("/project/images/")
    b.click_button("Create Image")
    b.find("#imageForm-name").send_keys("x" * 256)
    b.driver.find_element(By.CSS_SELECTOR, "input[name='image_file']").send_keys(str(path))
    message = b.find_xpath(f"{ERROR}[contains(., 'An image name less than 256 characters')]")
    assert message.is_displayed()
    finish = b.find(".modal-footer button.finish")
    assert not finish.is_enabled()
    b.shot("refused")
    assert posts(imgreg) == before
