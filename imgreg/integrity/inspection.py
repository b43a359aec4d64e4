"""Format inspection of uploads while they stream (security notes §2.4, F1-F6).

``InspectingReader`` wraps the upload stream the store reads. Every chunk goes on to the store
unchanged and through oslo.utils' format inspectors on the way, each of which keeps only the
small header regions it needs. When the store reads the end of the stream (``read`` returns
``b""``), the reader decides with ``decide()`` and raises ``UnsupportedMediaType`` (415) or
``QuotaExceeded`` (413) from that very ``read``, so the store aborts and removes its partial
file before anything is renamed into place, and no second pass over the data is ever needed.

The rules, Glance's with its gaps closed:

* every upload is inspected, whatever its ``container_format``;
* failed safety checks of the detected format are fatal, even for a ``raw`` claim and even
  with ``require_image_format_match`` off; only gpt failures named in
  ``gpt_safety_checks_nonfatal`` are tolerated (``mbr`` is always tolerated for aki/ari, whose
  kernels carry a boot signature); qed and luks are refused; a vmdk's create type must also be
  in ``vmdk_allowed_types`` (which can only narrow the inspector's own monolithicSparse and
  streamOptimized);
* more than one match is refused, except exactly {iso, gpt} (a bootable hybrid ISO) claimed as
  iso; gpt counts as raw for raw, ami, ari and aki claims;
* the detected format must equal ``disk_format`` (415 when ``require_image_format_match``);
  a ``raw`` claim accepts any safe content; the non-inspectable formats (ami, ari, aki, ploop
  and any custom one) accept content nothing recognizes;
* ``virtual_size``: the header's value when detected == claimed, the byte count for a raw
  claim, ``None`` otherwise; a value above ``max_virtual_size`` is refused (413).
"""

from __future__ import annotations

import dataclasses
import logging
from typing import BinaryIO

from oslo_config import cfg
from oslo_utils.imageutils import format_inspector as fi

from imgreg.domain import errors

LOG = logging.getLogger(__name__)

# Chunks fed to the inspectors before this many bytes are coalesced: a text vmdk descriptor
# (up to 1 MiB - 1 at offset 0) is parsed from the first chunk an inspector sees, so short
# reads from the client must not decide what gets detected.
HEAD = 1 << 20
# vhdx finds the regions it needs while reading, and misses any that start in a chunk already
# seen; Glance's 64 KiB chunks find them in images qemu-img writes.
SLICE = 64 * 1024
SLICED = frozenset({"vhdx"})
# Formats judged only by regions at fixed offsets: once complete, later data changes nothing.
FIXED = frozenset({"qcow2", "qed", "vhd", "vdi", "iso"})
GPT_AS_RAW = frozenset({"raw", "ami", "ari", "aki"})
REFUSED = frozenset({"qed", "luks"})


@dataclasses.dataclass(frozen=True)
class Rules:
    """The ``[image_format]`` options ``decide()`` applies (vmdk types in lower case)."""

    require_format_match: bool = True
    gpt_nonfatal: frozenset[str] = frozenset({"mbr"})
    vmdk_allowed_types: frozenset[str] = frozenset({"streamoptimized", "monolithicsparse"})
    max_virtual_size: int = 1 << 50

    @classmethod
    def from_conf(cls, conf: cfg.ConfigOpts) -> Rules:
        group = conf.image_format
        return cls(
            require_format_match=group.require_image_format_match,
            gpt_nonfatal=frozenset(group.gpt_safety_checks_nonfatal),
            vmdk_allowed_types=frozenset(t.lower() for t in group.vmdk_allowed_types),
            max_virtual_size=group.max_virtual_size,
        )


@dataclasses.dataclass(frozen=True)
class Verdict:
    """An accepted upload: what it was judged to be and the ``virtual_size`` to record."""

    detected: str  # the format the content was accepted as
    virtual_size: int | None


def _refuse(message: str) -> errors.UnsupportedMediaType:
    return errors.UnsupportedMediaType(message)


def _matches(inspector: fi.FileInspector) -> bool:
    try:
        return bool(inspector.format_match)
    except Exception:  # a half-parsed inspector may fail to answer; then it did not match
        return False


def _complete(inspector: fi.FileInspector) -> bool:
    try:
        return bool(inspector.complete)
    except Exception:
        return False


def _pick(disk_format: str, matches: list[fi.FileInspector]) -> fi.FileInspector:
    if len(matches) == 1:
        return matches[0]
    names = sorted(m.NAME for m in matches)
    if names == ["gpt", "iso"] and disk_format == "iso":
        return next(m for m in matches if m.NAME == "iso")  # a bootable hybrid ISO
    raise _refuse(f"Image content matches more than one format ({', '.join(names)})")


def check_safety(inspector: fi.FileInspector, disk_format: str, rules: Rules) -> None:
    """Raise 415 when ``inspector``'s format is refused or fails a fatal safety check."""
    name = inspector.NAME
    if name in REFUSED:
        raise _refuse(f"Image format {name} is not accepted")
    try:
        inspector.safety_check()
    except fi.SafetyCheckFailed as exc:
        failures = set(exc.failures)
        if name == "gpt":
            failures -= rules.gpt_nonfatal | ({"mbr"} if disk_format in ("aki", "ari") else set())
        if failures:
            # check names only: the failure texts may quote paths from inside the image
            raise _refuse(f"Image failed safety checks: {', '.join(sorted(failures))}") from None
        LOG.info("%s image: non-fatal safety check failures %s", name, sorted(exc.failures))
    except fi.ImageFormatError:
        raise _refuse(f"Image failed safety checks: its {name} structure is invalid") from None
    if name == "vmdk" and getattr(inspector, "vmdktype", None) not in rules.vmdk_allowed_types:
        raise _refuse("Image failed safety checks: vmdk create type not allowed")


def decide(
    disk_format: str,
    matches: list[fi.FileInspector],
    size: int,
    rules: Rules,
    broken: frozenset[str] = frozenset(),
) -> Verdict:
    """The verdict on a fully read upload of ``size`` bytes claimed as ``disk_format``.

    ``matches`` are the inspectors that recognized the content (a raw inspector when none
    did); ``broken`` names those that recognized it and then failed to parse it.
    """
    inspector = _pick(disk_format, matches)
    name = inspector.NAME
    if name in broken:
        raise _refuse(f"Image failed safety checks: its {name} structure is invalid")
    check_safety(inspector, disk_format, rules)
    virtual_size: int | None = None
    if disk_format == "raw":
        virtual_size = size  # any safe content may be stored as raw; then it is its own disk
    elif name == disk_format:
        virtual_size = inspector.virtual_size
    elif disk_format in fi.ALL_FORMATS or not (
        name == "raw" or (name == "gpt" and disk_format in GPT_AS_RAW)
    ):
        message = f"Image disk_format {disk_format} does not match the content ({name})"
        if rules.require_format_match:
            raise _refuse(message)
        LOG.warning("%s; accepted as require_image_format_match is off", message)
    if virtual_size is not None and virtual_size > rules.max_virtual_size:
        limit = rules.max_virtual_size
        raise errors.QuotaExceeded(f"Image virtual size {virtual_size} exceeds {limit} bytes")
    return Verdict(name, virtual_size)


class InspectingReader:
    """A file-like wrapper that inspects what is read and judges it at the end of the stream.

    ``verdict`` is set once ``read`` has returned ``b""``; a rejection is raised from that
    ``read``. A mismatch that is certain early (the claimed format's inspector has seen enough
    and does not match) is raised as soon as it is known, when the rules make it fatal.
    """

    def __init__(self, stream: BinaryIO, disk_format: str, rules: Rules) -> None:
        self.stream = stream
        self.disk_format = disk_format
        self.rules = rules
        self.count = 0
        self.verdict: Verdict | None = None
        self._head = bytearray()
        self._fed = 0
        self._all = [cls() for name, cls in fi.ALL_FORMATS.items() if name != "raw"]
        self._feeding = list(self._all)  # inspectors still interested in more data
        self._broken: set[fi.FileInspector] = set()

    def read(self, size: int = -1) -> bytes:
        if self.verdict is not None:
            return b""
        data = self.stream.read(size)
        if not data:
            self._feed(bytes(self._head), final=True)
            self._head = bytearray()
            self.verdict = self._finish()
            return data
        self.count += len(data)
        if self._fed >= HEAD or (not self._head and len(data) >= HEAD):
            self._feed(data)
        else:
            self._head += data
            if len(self._head) >= HEAD:
                self._feed(bytes(self._head))
                self._head = bytearray()
        return data

    def result(self) -> Verdict:
        """The verdict, reading to the end first if the store stopped short of it."""
        while self.verdict is None:
            if self.read(HEAD):
                raise errors.Invalid("The upload has more data than its declared size")
        return self.verdict

    def _feed(self, chunk: bytes, final: bool = False) -> None:
        if not chunk:
            return
        self._fed += len(chunk)
        for inspector in list(self._feeding):
            try:
                if inspector.NAME in SLICED:
                    for start in range(0, len(chunk), SLICE):
                        inspector.eat_chunk(chunk[start : start + SLICE])
                else:
                    inspector.eat_chunk(chunk)
            except Exception as exc:
                LOG.debug("%s inspector gave up: %s", inspector.NAME, exc)
                self._broken.add(inspector)
                self._feeding.remove(inspector)
                continue
            if _complete(inspector) and (inspector.NAME in FIXED or not _matches(inspector)):
                self._feeding.remove(inspector)  # settled: more data changes nothing
        if self.rules.require_format_match and not final:
            self._check_early_mismatch()

    def _check_early_mismatch(self) -> None:
        """Refuse at once when the claimed format's inspector has settled on "no match"."""
        claimed = next((i for i in self._all if self.disk_format == i.NAME), None)
        if claimed is None or claimed in self._feeding or _matches(claimed):
            return
        found = ""
        if not any(not _complete(i) for i in self._feeding):
            found = f" ({', '.join(sorted(i.NAME for i in self._found()))})"
        raise _refuse(f"Image disk_format {self.disk_format} does not match the content{found}")

    def _found(self) -> list[fi.FileInspector]:
        """What matched; a raw inspector when nothing did."""
        return [i for i in self._all if _matches(i)] or [fi.RawFileInspector()]

    def _finish(self) -> Verdict:
        for inspector in self._all:
            inspector.finish()
        broken = frozenset(i.NAME for i in self._broken)
        verdict = decide(self.disk_format, self._found(), self.count, self.rules, broken)
        LOG.debug("upload inspected: %s, virtual size %s", verdict.detected, verdict.virtual_size)
        return verdict
