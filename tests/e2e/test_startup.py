"""imgreg-api refuses to start on bad configuration, with a message that says why."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.config import write_config

# tools/test's first pass only: configuration is refused before any database is opened
pytestmark = pytest.mark.first_pass

BIN = Path(sys.executable).parent


def start(conf_path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "imgreg-api"), "--config-file", str(conf_path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.e2e
def test_custom_property_conflicting_with_base_stops_startup(tmp_path, clean_db):
    conf_path = write_config(tmp_path / "etc", clean_db, tmp_path / "images", bind_port=1)
    (tmp_path / "etc" / "schema-image.json").write_text(
        json.dumps({"min_ram": {"type": "string"}, "os_distro": {"type": "string"}})
    )
    result = start(conf_path)
    assert result.returncode == 2
    assert "custom image property 'min_ram' conflicts with the base property" in result.stderr


@pytest.mark.e2e
def test_malformed_property_protection_file_stops_startup(tmp_path, clean_db):
    rules = tmp_path / "protections.conf"
    rules.write_text("[^x_.*]\ncreate = admin\nread = @\nupdate = admin\n")  # no delete
    conf_path = write_config(
        tmp_path / "etc",
        clean_db,
        tmp_path / "images",
        bind_port=1,
        property_protection_file=str(rules),
    )
    result = start(conf_path)
    assert result.returncode == 2
    assert "does not define 'delete'" in result.stderr


@pytest.mark.e2e
def test_malformed_storage_quota_stops_startup(tmp_path, clean_db):
    conf_path = write_config(
        tmp_path / "etc", clean_db, tmp_path / "images", bind_port=1, user_storage_quota="lots"
    )
    result = start(conf_path)
    assert result.returncode == 2
    assert "invalid user_storage_quota 'lots'" in result.stderr
