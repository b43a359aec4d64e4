"""``tools/bench --resumable-drill`` (issue 21's drill: 2 GiB on four stores, run by hand, its
tables in docs/performance.md) runs small on the filesystem store: a two-node ``tools/cluster``,
both clients (tuspy, curl following the IETF draft), the three cuts, every check passed. It
proves the drill works, so that it cannot rot; it asserts no timing.

``tools/cluster`` always makes a PostgreSQL database, so this belongs to the PostgreSQL pass
(``tests/e2e/conftest.py``). It runs the drill as ``tools/bench`` does (``python -m benchlib``
from ``tools/``), with this interpreter: the suite already runs in the bench's ``.venv``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MIB = 32
CHUNK_MIB = 2
RATE = 8 << 20  # bytes/s of the first legs
PYTHONPATH = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]  # as tools/bench

pytestmark = pytest.mark.e2e


def test_drill_cuts_and_resumes_every_way_on_the_file_store(tmp_path):
    out = tmp_path / "drill.json"
    proc = subprocess.run(
        [sys.executable, "-m", "benchlib", "--resumable-drill", "--store", "file",
         "--data-mib", str(MIB), "--chunk-mib", str(CHUNK_MIB), "--json", str(out)],
        cwd=ROOT / "tools",
        env={
            **os.environ,
            "PYTHONPATH": os.pathsep.join([str(ROOT / "tools"), *PYTHONPATH]),
            # the first legs at 8 MiB/s: the half after the cut takes 2 s, so the drill cuts
            # in a chunk even on a loaded machine (unthrottled, CI once saw the whole upload
            # end before the worker was found, and killed the final pass instead)
            "DRILL_START_RATE": str(RATE),
        },
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    rows = json.loads(out.read_text())["resumable_drill"]["rows"]
    assert [(r["client"], r["cut"]) for r in rows] == [
        (client, cut)
        for client in ("tuspy", "curl")
        for cut in ("client-killed", "worker-killed", "other-node")
    ]
    size, chunk = MIB << 20, CHUNK_MIB << 20
    for r in rows:
        assert r["ok"] and r["failures"] == [], r
        assert (r["status"], r["hashes_ok"]) == ("active", True), r
        assert size // 2 <= r["resumed_from"] <= r["at_cut"] < size, r
        assert r["resent"] == size - r["resumed_from"], r
        assert r["resent"] - (size - r["at_cut"]) == r["excess"] <= chunk, r
    assert "| file | curl | worker-killed |" in proc.stdout
    assert "drill ok: 6 runs" in proc.stdout
