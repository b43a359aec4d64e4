"""``tools/bench --quick`` runs against a real imgreg-api, with zero errors, and prints every
figure. It proves the benchmark works; it asserts no timing (the figures are in
docs/performance.md)."""

from __future__ import annotations

import importlib
import json
import re
import statistics
import subprocess
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
BENCH = ROOT / "tools" / "bench"


def bench_report(monkeypatch):
    """tools/benchlib/report.py, imported as tools/bench runs it (from tools/)."""
    monkeypatch.syspath_prepend(str(ROOT / "tools"))
    return importlib.import_module("benchlib.report")


@pytest.mark.e2e
@pytest.mark.first_pass  # tools/test's first pass only: the benchmark's working, not an engine's
def test_quick_bench_against_the_server(server, tmp_path, monkeypatch):
    out = tmp_path / "bench.json"
    proc = subprocess.run(
        [str(BENCH), "--quick", server.url, "--server-pids", str(server.pid), "--json", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    assert "\n0 errors;" in proc.stdout

    report = json.loads(out.read_text())
    assert report["errors"] == []
    assert report["aborted"] is None
    (target,) = report["targets"]
    results = target["results"]
    assert results["upload"]["verified"] is True
    assert results["download"]["verified"] is True
    # four uploads at once, each image checked; two rounds, the median (of 2: the faster) kept
    parallel = results["upload4"]
    assert parallel["verified"] is True and parallel["uploads"] == 4
    assert parallel["bytes"] == 4 * 64 * 2**20
    assert parallel["mib_s"] == max(parallel["round_mib_s"]) and len(parallel["round_mib_s"]) == 2
    for phase in ("upload", "download"):  # --quick: 2 rounds; the slowest is not above the median
        rounds = results[phase]["round_mib_s"]
        assert len(rounds) == 2, phase
        assert results[phase]["slowest_mib_s"] == min(rounds) <= results[phase]["mib_s"], phase
    # then as many rounds with the canary, which got answers while they uploaded
    canary = results["upload"]["canary"]
    assert len(canary["round_mib_s"]) == 2
    assert canary["upload_mib_s"] == max(canary["round_mib_s"])  # of 2 rounds, as for the plain
    assert canary["requests"] >= 2 and canary["errors"] == 0
    assert results["cleanup"]["errors"] == 0

    bench = bench_report(monkeypatch)
    lines = proc.stdout.splitlines()
    for fig in bench.figures():
        assert bench.lookup(results, fig.path) is not None, fig.label
        row = [line for line in lines if re.match(rf"{re.escape(fig.label)}\s+{fig.unit}\s", line)]
        assert len(row) == 1, f"{fig.label!r} not printed:\n{proc.stdout}"
        assert "n/a" not in row[0], row[0]

    # everything the run created is gone
    listed = requests.get(f"{server.url}/v2/images?limit=1000", timeout=10)
    assert listed.status_code == 200
    assert [i["name"] for i in listed.json()["images"] if i["name"].startswith("bench-")] == []


@pytest.mark.e2e
@pytest.mark.first_pass  # it starts its own servers on SQLite: the same in every pass
def test_cache_bench_runs_its_servers_and_verifies_every_kind(tmp_path, monkeypatch):
    """``tools/bench --cache`` with 16 MiB: Swift and three imgreg-api of its own, every kind
    of download measured, each round's bytes counted and one of each kind hashed."""
    out = tmp_path / "cache.json"
    proc = subprocess.run(
        [str(BENCH), "--cache", "--quick", "--data-mib", "16", "--json", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    result = json.loads(out.read_text())["cache"]
    monkeypatch.syspath_prepend(str(ROOT / "tools"))
    hit_pairs = importlib.import_module("benchlib.cache").HIT_PAIRS
    # --quick: 2 rounds, each one pair swift/first and hit_pairs pairs file/hit
    pairs = {"first_over_swift": ("first", "swift"), "hit_over_file": ("hit", "file")}
    for name, kinds in pairs.items():
        ratios = result[f"{name}_pairs"]
        assert len(ratios) == (2 if name == "first_over_swift" else 2 * hit_pairs), name
        assert result[name] == pytest.approx(statistics.median(ratios), abs=0.001), name
        assert result[f"{name}_met"] == (statistics.median(ratios) >= result[f"{name}_target"])
        for kind in kinds:
            assert result[kind]["verified"] is True, kind
            assert len(result[kind]["round_mib_s"]) == len(ratios), kind
            assert result[kind]["machine_cpu_s_per_gib"] > 0, kind
    assert "first / no cache:" in proc.stdout
    assert "hit / filesystem store:" in proc.stdout


@pytest.mark.e2e
@pytest.mark.first_pass  # it starts its own server on SQLite: the same in every pass
def test_resumable_bench_cuts_and_checks_every_round(tmp_path):
    """``tools/bench --resumable`` with 16 MiB: each kind measured in every round, the cut
    upload cut in its middle (a 16 MiB run once sent its only chunk whole and then asked for
    a session that no longer was), every image checked by the bench itself."""
    out = tmp_path / "resumable.json"
    proc = subprocess.run(
        [str(BENCH), "--resumable", "--data-mib", "16", "--json", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    report = json.loads(out.read_text())
    samples = report["resumable"]["samples"]
    assert sorted(samples) == ["put", "tus", "tus-cut"]
    for kind, rounds in samples.items():
        assert len(rounds) == report["rounds"], kind
        assert all(one["machine_cpu_s"] > 0 for one in rounds), kind
    assert "tus-cut / tus" in proc.stdout
