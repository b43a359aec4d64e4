"""``etc/imgreg-api.conf`` is generated: it is what ``oslo-config-generator --config-file
etc/imgreg-config-generator.conf`` writes, and with ``etc/imgreg-serve.conf`` it gives what
``tools/serve`` promises. After changing an option or its help, regenerate it with that command
from the repository root."""

from __future__ import annotations

import difflib
import subprocess
import sys
from pathlib import Path

from oslo_config import cfg

from imgreg import conf as imgreg_conf

ROOT = Path(__file__).resolve().parents[2]
ETC = ROOT / "etc"
GENERATE = "oslo-config-generator --config-file etc/imgreg-config-generator.conf"


def generate(output: Path) -> str:
    # the generator in a fresh interpreter run from the repository root, so it lists this
    # checkout's options with their defaults untouched by other tests
    code = "from oslo_config.generator import main; main()"
    args = ["--config-file", str(ETC / "imgreg-config-generator.conf")]
    result = subprocess.run(
        [sys.executable, "-c", code, *args, "--output-file", str(output)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return output.read_text()


def test_etc_imgreg_api_conf_is_what_the_generator_writes(tmp_path: Path):
    expected = generate(tmp_path / "imgreg-api.conf")
    committed = (ETC / "imgreg-api.conf").read_text()
    diff = difflib.unified_diff(
        committed.splitlines(keepends=True),
        expected.splitlines(keepends=True),
        "etc/imgreg-api.conf (committed)",
        "etc/imgreg-api.conf (generated)",
    )
    stale = "".join(diff)
    assert not stale, f"etc/imgreg-api.conf is stale; run `{GENERATE}`:\n{stale}"


def test_the_sample_lists_every_imgreg_option_commented_out():
    sample = (ETC / "imgreg-api.conf").read_text()
    for _group, opts in imgreg_conf.list_opts():
        for opt in opts:
            assert f"\n#{opt.dest} =" in sample, opt.dest
    assert [line for line in sample.splitlines() if line and line[0] not in "#["] == []


def test_the_sample_and_tools_serve_settings_serve_what_tools_serve_promises():
    conf = imgreg_conf.register(cfg.ConfigOpts())
    files = [ETC / "imgreg-api.conf", ETC / "imgreg-serve.conf"]
    conf(args=[arg for path in files for arg in ("--config-file", str(path))], project="imgreg")
    assert (conf.bind_host, conf.bind_port) == ("127.0.0.1", 9292)
    assert conf.database.connection == "sqlite:///var/imgreg.sqlite"
    assert conf.glance_store.default_store == "file"
    assert conf.glance_store.filesystem_store_datadir == "var/images"
    assert conf.paste_deploy.flavor == ""
    paste = imgreg_conf.find_config_file(conf, conf.paste_deploy.config_file)
    assert paste == str(ETC / "imgreg-api-paste.ini")
    schema = imgreg_conf.find_config_file(conf, conf.image_schema_file)
    assert schema == str(ETC / "schema-image.json")
    assert conf.oslo_messaging_notifications.driver == ["log"]
