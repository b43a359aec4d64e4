"""The import plugins Glance runs on imported data before it is stored (``[image_import_opts]
image_import_plugins``), as plain functions over a local file: ``image_decompression``,
``image_conversion``, ``inject_image_metadata`` and ``no_op``, run in the configured order.

Each plugin that changes the data writes a new file next to its input and never touches the
input itself; files made by a plugin that a later one replaced are removed on the way, and
every file made here is removed when a plugin refuses the data. The caller owns the directory.

Beyond Glance (security notes §2.2 and F8):

* conversion reuses the upload inspector's safety rules (``imgreg.integrity.inspection``): a
  bootable hybrid ISO claimed as iso is accepted, qed and luks are refused, vmdk create types
  are checked before qemu-img runs and again on what qemu-img reports;
* ``vhd`` is handed to qemu-img under its driver name ``vpc`` (Glance passes ``-f vhd``, which
  qemu-img does not know, so vhd imports always failed);
* ``qemu-img convert`` runs under an address-space limit too, and a virtual size beyond
  ``max_virtual_size`` (or, for raw output, beyond ``image_size_cap``) is refused before
  converting, so a tiny qcow2 claiming 2^62 bytes cannot become a huge raw file;
* decompression streams in blocks and stops at ``image_size_cap`` (decompression bombs); a
  zip member is read, never extracted by name.

Not like Glance: the decompression plugin cannot see the image's ``container_format`` (Glance
leaves ``compressed`` containers alone), as ``run_plugins`` is not given it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import gzip
import json
import logging
import os
import sys
import tempfile
import zipfile
import zlib
from collections.abc import Callable, Iterator
from typing import Any, Protocol

from oslo_concurrency import processutils
from oslo_config import cfg
from oslo_utils.imageutils import format_inspector as fi

from imgreg.domain import errors
from imgreg.integrity import inspection

LOG = logging.getLogger(__name__)

GiB = 1 << 30
BLOCK = 1 << 20  # bytes read and written at a time while decompressing
# Glance's limits for `qemu-img info` (OSSA-2016-012): a crafted header must not eat the host.
INFO_LIMITS = processutils.ProcessLimits(cpu_time=2, address_space=1 * GiB)
# Converting takes time in proportion to the data, so no CPU limit; memory stays bounded.
CONVERT_LIMITS = processutils.ProcessLimits(address_space=1 * GiB)
QEMU_NAMES = {"vhd": "vpc"}  # disk_format -> qemu-img's driver name, where they differ
DATA_CHANGING = frozenset({"image_conversion", "image_decompression"})

GZIP_MAGIC = b"\x1f\x8b\x08"
ZIP_MAGIC = b"PK\x03\x04"
LHA_MAGIC = b"-lh"  # at offset 2, followed by the method digit and "-"


class PluginFailed(errors.ImgregError):
    """An import plugin refused the data or could not process it; ``message`` says why and
    names no local path."""

    def __init__(self, plugin: str, message: str) -> None:
        super().__init__(f"{plugin}: {message}")
        self.plugin = plugin


@dataclasses.dataclass
class PluginResult:
    path: str  # the file now holding the image data (may be the input path)
    disk_format: str | None  # new disk_format if a plugin changed it, else None
    properties: dict[str, str]  # properties to set on the image


@dataclasses.dataclass
class _Step:
    """What one plugin is given and hands on: the data so far and its disk format."""

    path: str
    disk_format: str
    roles: list[str]
    conf: cfg.ConfigOpts


def needs_local_copy(conf: cfg.ConfigOpts) -> bool:
    """True when a configured plugin reads or changes the image data (so the import must put
    the whole data in a local file for ``run_plugins``)."""
    return any(name in DATA_CHANGING for name in conf.image_import_opts.image_import_plugins)


def run_plugins(
    path: str, disk_format: str, roles: list[str], conf: cfg.ConfigOpts
) -> PluginResult:
    """Run the configured plugins in order over the local file ``path`` (the imported data,
    whole). Each plugin that changes the data writes a new file in the same directory; the
    input is never modified. Raises ``PluginFailed`` (or ``errors.Invalid``) when the data is
    refused, after removing every file made here."""
    names = list(conf.image_import_opts.image_import_plugins)
    unknown = [name for name in names if name not in PLUGINS]
    if unknown:
        raise errors.Invalid(f"Unknown import plugins: {', '.join(unknown)}")
    step = _Step(path, disk_format, roles, conf)
    changed_format: str | None = None
    properties: dict[str, str] = {}
    made: list[str] = []  # files made here that hold the data now or held it before
    try:
        for name in names:
            before = step.path
            new_path, new_format, new_properties = PLUGINS[name](step)
            if new_path != before:
                if made and made[-1] == before:
                    os.unlink(made.pop())  # an intermediate file nothing needs any more
                made.append(new_path)
                step.path = new_path
            if new_format is not None:
                step.disk_format = changed_format = new_format
            properties.update(new_properties)
    except BaseException:
        for made_path in made:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(made_path)
        raise
    return PluginResult(step.path, changed_format, properties)


_Output = tuple[str, str | None, dict[str, str]]


def _new_file(beside: str, suffix: str) -> str:
    """An empty new file in the directory of ``beside``, named after it."""
    directory, base = os.path.split(os.path.abspath(beside))
    fd, new = tempfile.mkstemp(prefix=f"{base}.", suffix=f".{suffix}", dir=directory)
    os.close(fd)
    return new


@contextlib.contextmanager
def _removed_on_error(path: str) -> Iterator[str]:
    try:
        yield path
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
        raise


# -- no_op and inject_image_metadata ----------------------------------------------------------


def no_op(step: _Step) -> _Output:
    return step.path, None, {}


def inject_image_metadata(step: _Step) -> _Output:
    """The ``[inject_metadata_properties] inject`` properties, unless the user has one of the
    ``ignore_user_roles`` (compared without case)."""
    group = step.conf.inject_metadata_properties
    ignored = {role.lower() for role in group.ignore_user_roles}
    if any(role.lower() in ignored for role in step.roles):
        return step.path, None, {}
    return step.path, None, {str(k): str(v) for k, v in (group.inject or {}).items()}


# -- image_decompression ----------------------------------------------------------------------


def image_decompression(step: _Step) -> _Output:
    """Decompress gzip, zip (exactly one member) or lha (when ``lhafile`` is installed) data,
    recognized by its magic bytes; anything else passes through unchanged."""
    with open(step.path, "rb") as f:
        head = f.read(8)
    if head.startswith(GZIP_MAGIC):
        kind, decompress = "gzip", _gunzip
    elif head.startswith(ZIP_MAGIC):
        kind, decompress = "zip", _unzip
    elif head[2:5] == LHA_MAGIC:
        kind, decompress = "lha", _unlha
    else:
        return step.path, None, {}
    cap = step.conf.image_size_cap
    out = _new_file(step.path, "uc")
    with _removed_on_error(out):
        size = decompress(step.path, out, cap)
    LOG.info("import: %s data decompressed to %d bytes", kind, size)
    return out, None, {}


class _Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


def _fail_decompression(message: str) -> PluginFailed:
    return PluginFailed("image_decompression", message)


def _copy_capped(source: _Readable, out_path: str, cap: int) -> int:
    """Copy ``source`` to a new file in blocks; refuse once more than ``cap`` bytes came."""
    written = 0
    with open(out_path, "wb") as out:
        while block := source.read(BLOCK):
            written += len(block)
            if written > cap:
                raise _fail_decompression(
                    f"The decompressed image is larger than the size cap of {cap} bytes"
                )
            out.write(block)
    return written


def _gunzip(src: str, out: str, cap: int) -> int:
    try:
        with gzip.open(src, "rb") as source:
            return _copy_capped(source, out, cap)
    except (OSError, EOFError, zlib.error) as exc:
        LOG.info("import: gzip data refused: %s", exc)
        raise _fail_decompression("The data is not valid gzip") from None


def _unzip(src: str, out: str, cap: int) -> int:
    try:
        with zipfile.ZipFile(src) as archive:
            members = archive.infolist()
            if len(members) != 1 or members[0].is_dir():
                raise _fail_decompression("A zip archive must hold exactly one file")
            with archive.open(members[0]) as source:
                return _copy_capped(source, out, cap)
    except PluginFailed:
        raise
    except NotImplementedError:  # before RuntimeError, its base class
        raise _fail_decompression("The zip archive uses an unsupported compression") from None
    except (zipfile.BadZipFile, OSError, EOFError, zlib.error, RuntimeError) as exc:
        # RuntimeError: an encrypted member
        LOG.info("import: zip data refused: %s", exc)
        raise _fail_decompression("The data is not a readable zip archive") from None


def _load_lhafile() -> Any:
    try:
        import lhafile  # optional: LHA is supported only when it is installed
    except ImportError:
        return None
    return lhafile


def _unlha(src: str, out: str, cap: int) -> int:
    lhafile = _load_lhafile()
    if lhafile is None:
        raise _fail_decompression("LHA archives are not supported here (no lhafile module)")
    try:
        archive = lhafile.LhaFile(src)
        members = archive.infolist()
        if len(members) != 1:
            raise _fail_decompression("An LHA archive must hold exactly one file")
        # lhafile inflates a member into memory in one go: refuse by the declared size first
        if int(members[0].file_size) > cap:
            raise _fail_decompression(
                f"The decompressed image is larger than the size cap of {cap} bytes"
            )
        data = archive.read(members[0].filename)
    except PluginFailed:
        raise
    except Exception as exc:  # lhafile raises plain exceptions of several kinds
        LOG.info("import: lha data refused: %s", exc)
        raise _fail_decompression("The data is not a readable LHA archive") from None
    if len(data) > cap:
        raise _fail_decompression(
            f"The decompressed image is larger than the size cap of {cap} bytes"
        )
    with open(out, "wb") as f:
        f.write(data)
    return len(data)


# -- image_conversion -------------------------------------------------------------------------


def image_conversion(step: _Step) -> _Output:
    """Check that the data is what its disk_format says and safe, then convert it to
    ``[image_conversion] output_format`` with qemu-img; the output is inspected again."""
    conf = step.conf
    source = step.disk_format
    target = conf.image_conversion.output_format
    rules = inspection.Rules.from_conf(conf)
    detected = _inspect(step.path, source, rules)
    if detected == "iso" or source == "iso":
        if detected == source:
            LOG.debug("import: iso images are not converted")
            return step.path, None, {}
        raise _fail_conversion(f"Image claimed as {source} is {detected}")
    if detected != source:
        raise _fail_conversion(f"Image claimed as {source} is {detected}")

    info = _qemu_info(step.path, source)
    _check_qemu_info(info, source, rules)
    virtual_size = info.get("virtual-size")
    if not isinstance(virtual_size, int) or virtual_size < 0:
        raise _fail_conversion("qemu-img reported no virtual size")
    if virtual_size > rules.max_virtual_size or (
        target == "raw" and virtual_size > conf.image_size_cap
    ):
        raise _fail_conversion(f"Image virtual size {virtual_size} bytes is too large")
    if source == target:
        LOG.debug("import: image already is %s, not converted", target)
        return step.path, None, {}

    out = _new_file(step.path, target)
    with _removed_on_error(out):
        _qemu_img(
            "convert",
            ["-f", _qemu_name(source), "-O", _qemu_name(target), step.path, out],
            CONVERT_LIMITS,
        )
        converted = _inspect(out, target, rules)
        if converted != target:
            raise _fail_conversion(f"The converted image is {converted}, not {target}")
        size = os.path.getsize(out)
        if size > conf.image_size_cap:
            cap = conf.image_size_cap
            raise _fail_conversion(f"The converted image is larger than the size cap of {cap}")
    LOG.info("import: image converted from %s to %s (%d bytes)", source, target, size)
    return out, target, {}


def _fail_conversion(message: str) -> PluginFailed:
    return PluginFailed("image_conversion", message)


def _qemu_name(disk_format: str) -> str:
    return QEMU_NAMES.get(disk_format, disk_format)


def _inspect(path: str, disk_format: str, rules: inspection.Rules) -> str:
    """The detected format of the file (gpt as raw), after its safety checks passed."""
    try:
        inspector = fi.detect_file_format(path)
    except fi.ImageFormatError as exc:
        inspector = _hybrid_iso(path) if disk_format == "iso" else None
        if inspector is None:
            LOG.info("import: format inspection failed: %s", exc)
            raise _fail_conversion("Image format detection failed") from None
    if inspector is None:
        raise _fail_conversion("Image format detection failed")
    try:
        inspection.check_safety(inspector, disk_format, rules)
    except errors.UnsupportedMediaType as exc:
        raise _fail_conversion(exc.message) from None
    return "raw" if inspector.NAME == "gpt" else str(inspector.NAME)


def _hybrid_iso(path: str) -> fi.FileInspector | None:
    """The iso inspector of a bootable hybrid ISO (matching exactly iso and gpt), else None."""
    with open(path, "rb") as f:
        wrapper = fi.InspectWrapper(f)
        try:
            while wrapper.read(64 * 1024):
                pass
        finally:
            wrapper.close()
        matches = wrapper.formats or []
    if sorted(str(m.NAME) for m in matches) != ["gpt", "iso"]:
        return None
    return next(m for m in matches if m.NAME == "iso")


def _check_qemu_info(info: dict[str, Any], source: str, rules: inspection.Rules) -> None:
    if info.get("format") != _qemu_name(source):
        raise _fail_conversion(f"qemu-img does not read the image as {source}")
    if "backing-filename" in info or "full-backing-filename" in info:
        raise _fail_conversion("Images with a backing file are not allowed")
    specific = info.get("format-specific")
    data = specific.get("data") if isinstance(specific, dict) else None
    data = data if isinstance(data, dict) else {}
    if data.get("data-file") is not None:
        raise _fail_conversion("Images with an external data file are not allowed")
    if source == "vmdk":
        create_type = str(data.get("create-type") or "")
        if create_type.lower() not in rules.vmdk_allowed_types:
            raise _fail_conversion("vmdk create type not allowed")


def _qemu_info(path: str, source: str) -> dict[str, Any]:
    out = _qemu_img("info", ["-f", _qemu_name(source), "--output=json", path], INFO_LIMITS)
    try:
        info = json.loads(out)
    except ValueError:
        info = None
    if not isinstance(info, dict):
        raise _fail_conversion("qemu-img gave no readable image information")
    return info


def _python() -> str:
    """The interpreter that applies the rlimits (``sys.executable`` is uWSGI's binary when
    served by uWSGI)."""
    if os.path.basename(sys.executable).startswith("python"):
        return sys.executable
    for name in ("python3", "python"):
        candidate = os.path.join(sys.exec_prefix, "bin", name)
        if os.access(candidate, os.X_OK):
            return candidate
    return sys.executable


def _qemu_img(command: str, args: list[str], limits: processutils.ProcessLimits) -> str:
    """Run ``qemu-img command args`` under ``limits``; its stdout. Failures name no path."""
    try:
        stdout, _ = processutils.execute(
            "qemu-img", command, *args, prlimit=limits, python_exec=_python()
        )
    except processutils.ProcessExecutionError as exc:
        LOG.warning("import: qemu-img %s failed (%s): %s", command, exc.exit_code, exc.stderr)
        raise _fail_conversion(f"qemu-img {command} failed on the image") from None
    except OSError as exc:
        LOG.error("import: qemu-img could not be run: %s", exc)
        raise _fail_conversion("qemu-img is not available") from None
    return str(stdout)


PLUGINS: dict[str, Callable[[_Step], _Output]] = {
    "image_conversion": image_conversion,
    "image_decompression": image_decompression,
    "inject_image_metadata": inject_image_metadata,
    "no_op": no_op,
}
