"""A run's course: every phase against every target in turn, then the cleanup of each target,
with one progress line a phase and target."""

from __future__ import annotations

import http.client
import os
import time
from collections.abc import Callable
from typing import Any

from .client import BenchError
from .download import phase_download
from .payload import Payload
from .phases import (
    cleanup,
    phase_check,
    phase_create,
    phase_cycles,
    phase_filtered,
    phase_list25,
    phase_list1000,
    phase_patch,
    phase_public,
    phase_schema,
    phase_seed,
    phase_show,
)
from .report import phase_note
from .sizes import Sizes
from .target import Target
from .upload import phase_upload
from .upload_concurrent import phase_upload_concurrent

PHASES: list[tuple[str, Callable[..., dict[str, Any]], bool]] = [
    ("check", phase_check, False),
    ("seed", phase_seed, False),
    ("schema", phase_schema, False),
    ("show", phase_show, False),
    ("list25", phase_list25, False),
    ("list1000", phase_list1000, False),
    ("filtered", phase_filtered, False),
    ("public", phase_public, False),
    ("create", phase_create, False),
    ("patch", phase_patch, False),
    ("upload", phase_upload, True),
    ("upload4", phase_upload_concurrent, True),
    ("download", phase_download, True),
    ("cycles", phase_cycles, True),
]


Phases = list[tuple[str, Callable[..., dict[str, Any]], bool]]
PHASE_NAMES = [name for name, _, _ in PHASES]


def run_phases(
    targets: list[Target],
    sizes: Sizes,
    payload: Payload,
    phases: Phases | None = None,
    only: list[str] | None = None,
) -> str | None:
    """Each phase (of ``phases``, default ``PHASES``) against A, then B, then the next phase;
    stops at the first failure. Returns why the run stopped early (``aborted: …``,
    ``interrupted``), or None. ``only``: those phases (and the check, which every run starts
    with)."""
    try:
        for name, func, needs_payload in PHASES if phases is None else phases:
            if only is not None and name != "check" and name not in only:
                continue
            for target in targets:
                t0 = time.perf_counter()
                extra = (payload,) if needs_payload else ()
                try:
                    target.results[name] = func(target, sizes, *extra)
                except (BenchError, OSError, http.client.HTTPException) as exc:
                    target.error(name, str(exc) or repr(exc))
                    raise
                target.results[name]["loadavg_1m"] = round(os.getloadavg()[0], 2)
                note = phase_note(target.results[name])
                print(
                    f"  {name:9s} {target.label:>8s}  {time.perf_counter() - t0:6.1f} s  {note}",
                    flush=True,
                )
            if name == "check":
                payload.digest("md5")  # hash the payload before anything is timed
                payload.digest("sha512")
    except (BenchError, OSError, http.client.HTTPException) as exc:
        return f"aborted: {exc}"
    except KeyboardInterrupt:
        return "interrupted"
    return None


def run_cleanup(targets: list[Target], aborted: str | None) -> str | None:
    """Delete every image each target's run created, also after a failure; returns ``aborted``,
    or why the cleanup itself was cut short."""
    for target in targets:
        t0 = time.perf_counter()
        try:
            target.results["cleanup"] = cleanup(target)
        except KeyboardInterrupt:
            # the deleting threads are daemons: they stop when the process exits
            aborted = "interrupted during cleanup: some images were not deleted"
            target.error("cleanup", aborted)
            break
        print(
            f"  cleanup   {target.label:>8s}  {time.perf_counter() - t0:6.1f} s  "
            f"{phase_note(target.results['cleanup'])}",
            flush=True,
        )
    return aborted
