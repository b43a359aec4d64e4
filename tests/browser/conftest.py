"""The browser suite's world: a real Keystone (``tools/keystone``), imgreg-api behind
keystonemiddleware with the CORS filter open to Horizon, Glance's metadefs catalog loaded,
two Horizons (``tools/horizon``: upload modes ``legacy`` and ``direct``) and a headless
Chromium driven by Selenium; all started once per pytest session.

imgreg keeps its own SQLite database here: nothing in the suite depends on the database
engine, so it runs once, in the first pass of ``tools/test`` (no ``db`` marker). When a test
fails, the screenshots of every page it went through (and the last page's HTML) are kept
under ``$IMGREG_TEST_ARTIFACTS/browser`` (default ``var/test-artifacts/browser``);
``IMGREG_TEST_KEEP_SHOTS=1`` keeps those of passing tests too (the pictures in ``docs/``).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from imgreg.cmd.manage import db_sync
from tests.browser.pages import Browser, new_browser
from tests.support.background import tool_running
from tests.support.cloud import authtoken_options, keystone_session
from tests.support.config import ROOT
from tests.support.server import Server, free_port, start_api, stop

BIN = Path(sys.executable).parent
KEYSTONE_TIMEOUT = 900.0  # the first run creates Keystone's venv with pip
HORIZON_TIMEOUT = 900.0  # the first run creates Horizon's venv and compresses its static files
ARTIFACTS = Path(os.environ.get("IMGREG_TEST_ARTIFACTS", ROOT / "var" / "test-artifacts"))


@pytest.fixture(scope="session")
def keystone(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    with tool_running("keystone", tmp_path_factory.mktemp("keystone"), KEYSTONE_TIMEOUT) as info:
        yield info


@pytest.fixture(scope="session")
def horizon_ports() -> dict[str, int]:
    return {"legacy": free_port(), "direct": free_port()}


def origin(port: int) -> str:
    return f"http://127.0.0.1:{port}"


@pytest.fixture(scope="session")
def imgreg(
    tmp_path_factory: pytest.TempPathFactory,
    keystone: dict[str, Any],
    horizon_ports: dict[str, int],
) -> Iterator[Server]:
    """imgreg-api (keystone flavor, CORS open to both Horizons) on a SQLite database of its
    own with Glance's metadefs catalog, listed as the image service in Keystone's catalog."""
    tmp = tmp_path_factory.mktemp("imgreg")
    db_url = f"sqlite:///{tmp}/imgreg.sqlite"
    options = {
        **authtoken_options(keystone),
        "cors.allowed_origin": ",".join(origin(p) for p in horizon_ports.values()),
    }
    db_sync(db_url)
    server = start_api(tmp, db_url, options)
    try:
        manage = [str(BIN / "imgreg-manage"), "--config-file", str(server.conf_path), "db"]
        catalog = subprocess.run(
            [str(ROOT / "tools" / "metadefs-catalog")],
            env={**os.environ, "IMGREG_PYTHON": sys.executable},
            capture_output=True, text=True, check=True, timeout=600,
        ).stdout.strip().splitlines()[-1]  # fmt: skip
        subprocess.run([*manage, "load_metadefs", "--path", catalog], check=True, timeout=300)
        with image_service(keystone, server.url):
            yield server
    finally:
        stop(server)


@contextlib.contextmanager
def image_service(keystone: dict[str, Any], url: str) -> Iterator[None]:
    sess = keystone_session(keystone, "admin", "admin")
    base = keystone["auth_url"]
    service = sess.post(
        f"{base}/services", json={"service": {"type": "image", "name": "imgreg"}}
    ).json()["service"]
    for interface in ("public", "internal", "admin"):
        endpoint = {
            "service_id": service["id"],
            "interface": interface,
            "url": url,
            "region_id": "RegionOne",
        }
        sess.post(f"{base}/endpoints", json={"endpoint": endpoint})
    try:
        yield
    finally:
        sess.delete(f"{base}/services/{service['id']}")


def run_horizon(
    tmp_path_factory: pytest.TempPathFactory,
    keystone: dict[str, Any],
    port: int,
    mode: str,
) -> Iterator[str]:
    state = tmp_path_factory.mktemp(f"horizon-{mode}")
    env = {"IMGREG_HORIZON_UPLOAD_MODE": mode}
    args = (keystone["auth_url"], str(port))
    with tool_running("horizon", state, HORIZON_TIMEOUT, args, env) as info:
        yield info["url"]


@pytest.fixture(scope="session")
def horizon(
    tmp_path_factory: pytest.TempPathFactory,
    keystone: dict[str, Any],
    imgreg: Server,
    horizon_ports: dict[str, int],
) -> Iterator[str]:
    """Horizon in ``legacy`` upload mode (the file goes through Horizon); its URL."""
    yield from run_horizon(tmp_path_factory, keystone, horizon_ports["legacy"], "legacy")


@pytest.fixture(scope="session")
def horizon_direct(
    tmp_path_factory: pytest.TempPathFactory,
    keystone: dict[str, Any],
    imgreg: Server,
    horizon_ports: dict[str, int],
) -> Iterator[str]:
    """Horizon in ``direct`` upload mode (the browser PUTs the file to imgreg); its URL."""
    yield from run_horizon(tmp_path_factory, keystone, horizon_ports["direct"], "direct")


@pytest.fixture
def browser_factory(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    """``browser_factory(horizon_url)``: a new headless Chromium on that Horizon, closed after
    the test; the screenshots of a failed test are kept."""
    mine: list[Browser] = []

    def make(url: str) -> Browser:
        browser = new_browser(url, tmp_path / f"shots-{len(mine)}")
        mine.append(browser)
        return browser

    yield make
    report = getattr(request.node, "rep_call", None)
    failed = report is None or report.failed  # None: the test's setup failed
    if mine and (failed or os.environ.get("IMGREG_TEST_KEEP_SHOTS") == "1"):
        keep = ARTIFACTS / "browser" / request.node.name
        shutil.rmtree(keep, ignore_errors=True)
        keep.mkdir(parents=True)
        for browser in mine:
            with contextlib.suppress(Exception):
                if failed:
                    browser.shot("failed")
                    (browser.shots / "failed.html").write_text(browser.driver.page_source)
            shutil.copytree(browser.shots, keep / browser.shots.name, dirs_exist_ok=True)
    for browser in mine:
        with contextlib.suppress(Exception):
            browser.driver.quit()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    if report.when == "call":
        item.rep_call = report  # type: ignore[attr-defined]
    return report
