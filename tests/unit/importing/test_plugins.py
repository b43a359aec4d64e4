"""The import plugins over real files: images made at test time with qemu-img (never committed),
conversion by the real qemu-img, archives made with the standard library."""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from types import SimpleNamespace
from typing import Any, ClassVar

import pytest
from oslo_concurrency import processutils

from imgreg.importing import plugins
from imgreg.importing.plugins import PluginFailed, needs_local_copy, run_plugins
from tests.support import images
from tests.support.builders import make_conf

MiB = 1 << 20


@pytest.fixture(autouse=True, scope="module")
def _qemu_img_present() -> None:
    if shutil.which("qemu-img") is None:
        pytest.fail("qemu-img is missing: run tools/ensure-qemu-img")


def qemu_img(*args: str) -> str:
    done = subprocess.run(
        ["qemu-img", *args], check=True, capture_output=True, text=True, timeout=60
    )
    return done.stdout


def qemu_info(path: Path | str, fmt: str) -> dict[str, Any]:
    info: dict[str, Any] = json.loads(qemu_img("info", "-U", "-f", fmt, "--output=json", str(path)))
    return info


def conf_with(*names: str, **overrides: Any) -> Any:
    return make_conf(image_import_opts__image_import_plugins=list(names), **overrides)


def make_qcow2(path: Path, size: str = "8M", *options: str, fill: bool = True) -> Path:
    qemu_img("create", "-q", "-f", "qcow2", *options, str(path), size)
    if fill:  # some real data, so a conversion has something to carry over
        subprocess.run(
            ["qemu-io", "-f", "qcow2", "-c", "write -P 0x5a 0 1M", str(path)],
            check=True,
            capture_output=True,
            timeout=60,
        )
    return path


def digest(path: Path | str) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def refused(path: Path, disk_format: str, conf: Any, match: str) -> None:
    """The plugins refuse ``path``, leave it as it was and leave no file behind."""
    before, listing = digest(path), sorted(os.listdir(path.parent))
    with pytest.raises(PluginFailed, match=match):
        run_plugins(str(path), disk_format, ["member"], conf)
    assert digest(path) == before
    assert sorted(os.listdir(path.parent)) == listing


# -- image_conversion --------------------------------------------------------------------------


def test_qcow2_is_converted_to_raw_of_the_same_virtual_size(tmp_path: Path) -> None:
    source = make_qcow2(tmp_path / "image")
    before = digest(source)
    result = run_plugins(str(source), "qcow2", ["member"], conf_with("image_conversion"))

    assert result.disk_format == "raw"
    assert result.properties == {}
    out = Path(result.path)
    assert out != source and out.parent == tmp_path
    assert digest(source) == before  # the input is never changed in place
    info = qemu_info(out, "raw")
    assert info["virtual-size"] == 8 * MiB == out.stat().st_size
    with out.open("rb") as f:
        assert f.read(MiB) == b"\x5a" * MiB and f.read(MiB) == b"\0" * MiB
    assert sorted(os.listdir(tmp_path)) == sorted(["image", out.name])


def test_output_format_qcow2_converts_raw(tmp_path: Path) -> None:
    source = tmp_path / "image"
    source.write_bytes(b"\x33" * MiB + b"\0" * MiB)
    conf = conf_with("image_conversion", image_conversion__output_format="qcow2")
    result = run_plugins(str(source), "raw", [], conf)

    assert result.disk_format == "qcow2"
    info = qemu_info(result.path, "qcow2")
    assert info["format"] == "qcow2" and info["virtual-size"] == 2 * MiB
    assert "backing-filename" not in info


def test_vhd_is_handed_to_qemu_img_as_vpc(tmp_path: Path) -> None:
    source = tmp_path / "image"
    qemu_img("create", "-q", "-f", "vpc", str(source), "4M")
    result = run_plugins(str(source), "vhd", [], conf_with("image_conversion"))
    assert result.disk_format == "raw"
    assert qemu_info(source, "vpc")["virtual-size"] == Path(result.path).stat().st_size


def test_gpt_counts_as_raw(tmp_path: Path) -> None:
    source = tmp_path / "image"
    source.write_bytes(images.mbr() + b"\0" * MiB)
    conf = conf_with("image_conversion", image_conversion__output_format="qcow2")
    result = run_plugins(str(source), "raw", [], conf)
    assert result.disk_format == "qcow2"
    assert qemu_info(result.path, "qcow2")["virtual-size"] == MiB + 512


def test_image_already_in_the_output_format_is_not_converted(tmp_path: Path) -> None:
    source = make_qcow2(tmp_path / "image")
    conf = conf_with("image_conversion", image_conversion__output_format="qcow2")
    result = run_plugins(str(source), "qcow2", [], conf)
    assert result == plugins.PluginResult(str(source), None, {})
    assert os.listdir(tmp_path) == ["image"]


def test_raw_claimed_as_qcow2_is_refused(tmp_path: Path) -> None:
    source = tmp_path / "image"
    source.write_bytes(b"\x01" * MiB)
    refused(source, "qcow2", conf_with("image_conversion"), "claimed as qcow2 is raw")


def test_qcow2_claimed_as_raw_is_refused(tmp_path: Path) -> None:
    source = make_qcow2(tmp_path / "image")
    refused(source, "raw", conf_with("image_conversion"), "claimed as raw is qcow2")


def test_qcow2_with_a_backing_file_is_refused(tmp_path: Path) -> None:
    base = tmp_path / "base.raw"
    base.write_bytes(b"secret" * 1000)
    source = tmp_path / "image"
    qemu_img("create", "-q", "-f", "qcow2", "-b", str(base), "-F", "raw", str(source), "8M")
    refused(source, "qcow2", conf_with("image_conversion"), "backing_file")


def test_qcow2_with_an_external_data_file_is_refused(tmp_path: Path) -> None:
    source = tmp_path / "image"
    data = tmp_path / "data.raw"
    qemu_img("create", "-q", "-f", "qcow2", "-o", f"data_file={data}", str(source), "1M")
    refused(source, "qcow2", conf_with("image_conversion"), "data_file")


def test_qemu_img_info_is_checked_too(tmp_path: Path) -> None:
    """What qemu-img reports is checked on its own (the inspector is not the only guard)."""
    conf = conf_with("image_conversion")
    step = plugins._Step(str(tmp_path / "x"), "qcow2", [], conf)
    rules = plugins.inspection.Rules.from_conf(step.conf)
    backing = {"format": "qcow2", "backing-filename": "/etc/passwd", "virtual-size": 1}
    with pytest.raises(PluginFailed, match="backing file"):
        plugins._check_qemu_info(backing, "qcow2", rules)
    data_file = {"format": "qcow2", "format-specific": {"data": {"data-file": "/dev/sda"}}}
    with pytest.raises(PluginFailed, match="external data file"):
        plugins._check_qemu_info(data_file, "qcow2", rules)
    with pytest.raises(PluginFailed, match="does not read the image as qcow2"):
        plugins._check_qemu_info({"format": "raw"}, "qcow2", rules)
    flat = {"format": "vmdk", "format-specific": {"data": {"create-type": "monolithicFlat"}}}
    with pytest.raises(PluginFailed, match="vmdk create type"):
        plugins._check_qemu_info(flat, "vmdk", rules)


def test_a_huge_virtual_size_is_refused_before_converting_to_raw(tmp_path: Path) -> None:
    source = make_qcow2(tmp_path / "image", "4G", fill=False)
    conf = conf_with("image_conversion", image_size_cap=1 << 30)
    refused(source, "qcow2", conf, "virtual size 4294967296 bytes is too large")


@pytest.mark.parametrize("claimed", ["raw", "qcow2"])
def test_iso_claimed_as_another_format_is_refused(tmp_path: Path, claimed: str) -> None:
    source = tmp_path / "image"
    source.write_bytes(images.iso9660())
    refused(source, claimed, conf_with("image_conversion"), f"claimed as {claimed} is iso")


def test_iso_claimed_as_iso_is_kept_as_it_is(tmp_path: Path) -> None:
    source = tmp_path / "image"
    source.write_bytes(images.iso9660())
    result = run_plugins(str(source), "iso", [], conf_with("image_conversion"))
    assert result == plugins.PluginResult(str(source), None, {})


def test_bootable_hybrid_iso_claimed_as_iso_is_kept(tmp_path: Path) -> None:
    source = tmp_path / "image"
    source.write_bytes(images.iso9660(system_area=images.mbr()))
    result = run_plugins(str(source), "iso", [], conf_with("image_conversion"))
    assert result.path == str(source) and result.disk_format is None


def test_iso_hiding_a_qcow2_header_is_refused(tmp_path: Path) -> None:
    source = tmp_path / "image"
    source.write_bytes(images.iso9660(system_area=images.qcow2_header()))
    refused(source, "iso", conf_with("image_conversion"), "format detection failed")


def test_qemu_img_runs_under_rlimits(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With a tiny address space qemu-img cannot even start: a clean refusal, no traceback."""
    monkeypatch.setattr(plugins, "INFO_LIMITS", processutils.ProcessLimits(address_space=MiB))
    source = make_qcow2(tmp_path / "image")
    refused(source, "qcow2", conf_with("image_conversion"), "qemu-img info failed")


# -- image_decompression -----------------------------------------------------------------------


def test_gzip_is_decompressed(tmp_path: Path) -> None:
    payload = os.urandom(3 * MiB + 17)
    source = tmp_path / "image"
    source.write_bytes(gzip.compress(payload))
    result = run_plugins(str(source), "raw", [], conf_with("image_decompression"))
    assert Path(result.path).read_bytes() == payload
    assert Path(result.path).parent == tmp_path and result.disk_format is None


def test_zip_with_one_member_is_decompressed(tmp_path: Path) -> None:
    payload = os.urandom(MiB) + b"\0" * MiB
    source = tmp_path / "image"
    with zipfile.ZipFile(source, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("../../disk.img", payload)  # the member's name is never used
    result = run_plugins(str(source), "raw", [], conf_with("image_decompression"))
    assert Path(result.path).read_bytes() == payload
    assert sorted(os.listdir(tmp_path)) == sorted(["image", Path(result.path).name])


def test_zip_with_two_members_is_refused(tmp_path: Path) -> None:
    source = tmp_path / "image"
    with zipfile.ZipFile(source, "w") as archive:
        archive.writestr("a.img", b"a" * 1000)
        archive.writestr("b.img", b"b" * 1000)
    refused(source, "raw", conf_with("image_decompression"), "exactly one file")


def test_gzip_bomb_is_refused_and_leaves_nothing(tmp_path: Path) -> None:
    source = tmp_path / "image"
    source.write_bytes(gzip.compress(b"\0" * (2 * MiB)))
    conf = conf_with("image_decompression", image_size_cap=MiB)
    refused(source, "raw", conf, "larger than the size cap of 1048576 bytes")


def test_broken_gzip_is_refused(tmp_path: Path) -> None:
    source = tmp_path / "image"
    source.write_bytes(gzip.compress(b"x" * 100_000)[:-20])
    refused(source, "raw", conf_with("image_decompression"), "not valid gzip")


def test_lha_without_lhafile_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "lhafile", None)  # importing it raises ImportError
    source = tmp_path / "image"
    source.write_bytes(b"\x20\x00-lh5-" + b"\0" * 100)
    refused(source, "raw", conf_with("image_decompression"), "LHA archives are not supported")


class FakeLha:
    """Stands in for ``lhafile.LhaFile`` (the package is optional and not installed)."""

    members: ClassVar[dict[str, bytes]] = {}

    def __init__(self, path: str) -> None:
        assert Path(path).read_bytes()[2:5] == b"-lh"

    def infolist(self) -> list[SimpleNamespace]:
        return [SimpleNamespace(filename=k, file_size=len(v)) for k, v in self.members.items()]

    def read(self, name: str) -> bytes:
        return self.members[name]


@pytest.mark.parametrize(
    ("members", "cap", "match"),
    [
        ({"a": b"a" * 10, "b": b"b"}, MiB, "exactly one file"),
        ({"a": b"\0" * (2 * MiB)}, MiB, "larger than the size cap"),
        ({"a": b"disk" * 1000}, MiB, None),
    ],
)
def test_lha_with_lhafile(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    members: dict[str, bytes],
    cap: int,
    match: str | None,
) -> None:
    monkeypatch.setattr(FakeLha, "members", members)
    monkeypatch.setitem(sys.modules, "lhafile", SimpleNamespace(LhaFile=FakeLha))
    source = tmp_path / "image"
    source.write_bytes(b"\x20\x00-lh5-" + b"\0" * 100)
    conf = conf_with("image_decompression", image_size_cap=cap)
    if match is not None:
        refused(source, "raw", conf, match)
    else:
        result = run_plugins(str(source), "raw", [], conf)
        assert Path(result.path).read_bytes() == members["a"]


def test_uncompressed_data_passes_through(tmp_path: Path) -> None:
    source = make_qcow2(tmp_path / "image")
    result = run_plugins(str(source), "qcow2", [], conf_with("image_decompression"))
    assert result == plugins.PluginResult(str(source), None, {})


# -- inject_image_metadata, no_op, order -------------------------------------------------------


INJECT = {"inject_metadata_properties__inject": {"hw_vendor": "acme", "os_distro": "debian"}}


def test_inject_sets_the_configured_properties(tmp_path: Path) -> None:
    source = tmp_path / "image"
    source.write_bytes(b"data")
    result = run_plugins(
        str(source), "raw", ["member"], conf_with("inject_image_metadata", **INJECT)
    )
    assert result == plugins.PluginResult(
        str(source), None, {"hw_vendor": "acme", "os_distro": "debian"}
    )


@pytest.mark.parametrize("roles", [["member", "admin"], ["Admin"]])
def test_inject_skips_users_with_an_ignored_role(tmp_path: Path, roles: list[str]) -> None:
    source = tmp_path / "image"
    source.write_bytes(b"data")
    result = run_plugins(str(source), "raw", roles, conf_with("inject_image_metadata", **INJECT))
    assert result.properties == {}


def test_no_op_and_no_plugins_change_nothing(tmp_path: Path) -> None:
    source = tmp_path / "image"
    source.write_bytes(b"data")
    for conf in (conf_with("no_op"), conf_with()):
        assert run_plugins(str(source), "raw", [], conf) == plugins.PluginResult(
            str(source), None, {}
        )


def test_plugins_run_in_the_configured_order(tmp_path: Path) -> None:
    qcow2 = make_qcow2(tmp_path / "plain.qcow2")
    source = tmp_path / "image"
    source.write_bytes(gzip.compress(qcow2.read_bytes()))
    qcow2.unlink()

    conf = conf_with("image_decompression", "image_conversion", "inject_image_metadata", **INJECT)
    result = run_plugins(str(source), "qcow2", ["member"], conf)
    assert result.disk_format == "raw"
    assert result.properties == {"hw_vendor": "acme", "os_distro": "debian"}
    assert qemu_info(result.path, "raw")["virtual-size"] == 8 * MiB
    # the decompressed intermediate file is gone; the input and the result stay
    assert sorted(os.listdir(tmp_path)) == sorted(["image", Path(result.path).name])

    # the other way round, conversion sees gzip data, which is not the qcow2 it was promised
    refused(source, "qcow2", conf_with("image_conversion", "image_decompression"), "is raw")


def test_a_late_refusal_removes_the_files_of_earlier_plugins(tmp_path: Path) -> None:
    source = tmp_path / "image"
    source.write_bytes(gzip.compress(b"\x01" * MiB))  # raw inside, claimed as qcow2
    refused(source, "qcow2", conf_with("image_decompression", "image_conversion"), "is raw")


def test_needs_local_copy() -> None:
    assert not needs_local_copy(conf_with())
    assert not needs_local_copy(conf_with("inject_image_metadata", "no_op"))
    assert needs_local_copy(conf_with("no_op", "image_decompression"))
    assert needs_local_copy(conf_with("image_conversion"))
