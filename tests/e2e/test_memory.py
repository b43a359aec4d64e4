"""A 2 GiB upload streams through the server in bounded memory, and streams back out."""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Iterator

import pytest
import requests

from tests.support.client import stored_files
from tests.support.rss import RssSampler, status_kib

# tools/test's first pass only: memory bounded by streaming is the server's, not the engine's; a
# database's part of an upload (its status and rows) is tested on every engine by test_crash.py and
# test_streaming.py
pytestmark = pytest.mark.first_pass

MiB = 1 << 20
TOTAL = 2 << 30
MAX_GROWTH = 64 * MiB


@pytest.mark.e2e
def test_2_gib_chunked_upload_and_download_in_bounded_memory(server):
    url = f"{server.url}/v2/images"
    block = os.urandom(MiB)
    image = requests.post(url, json={"disk_format": "raw", "container_format": "bare"}, timeout=10)
    assert image.status_code == 201, image.text
    image_id = image.json()["id"]
    # warm both workers up (imports, DB connections) before the baseline is taken
    for _ in range(6):
        assert requests.get(url, timeout=10).status_code == 200

    workers = server.workers()
    assert len(workers) == 2
    rss_before = {pid: status_kib(pid, "VmRSS") for pid in workers}
    hwm_before = {pid: status_kib(pid, "VmHWM") for pid in workers}
    sent = hashlib.sha512()

    def body() -> Iterator[bytes]:
        for _ in range(TOTAL // MiB):
            sent.update(block)
            yield block

    sampler = RssSampler(workers)
    sampler.start()
    started = time.monotonic()
    try:
        resp = requests.put(
            f"{url}/{image_id}/file",
            data=body(),
            headers={"Content-Type": "application/octet-stream"},
            timeout=600,
        )
        upload_seconds = time.monotonic() - started
    finally:
        sampled = sampler.stop()
    try:
        assert resp.status_code == 204, resp.text
        assert resp.request.headers["Transfer-Encoding"] == "chunked"
        hwm_after = {pid: status_kib(pid, "VmHWM") for pid in workers}
        growth = {}
        for pid in workers:
            peak = sampled[pid]
            if hwm_after[pid] > hwm_before[pid]:  # a new high-water mark was set meanwhile
                peak = max(peak, hwm_after[pid])
            growth[pid] = peak - rss_before[pid]
        served_by = max(growth, key=lambda pid: growth[pid])
        print(
            f"\nupload 2 GiB chunked: {TOTAL / MiB / upload_seconds:.0f} MiB/s; worker "
            f"{served_by}: RSS before {rss_before[served_by] / MiB:.1f} MiB, sampled peak "
            f"{sampled[served_by] / MiB:.1f} MiB, VmHWM {hwm_before[served_by] / MiB:.1f} → "
            f"{hwm_after[served_by] / MiB:.1f} MiB; peak RSS growth "
            f"{growth[served_by] / MiB:.1f} MiB (other worker "
            f"{min(growth.values()) / MiB:.1f} MiB)"
        )
        assert growth[served_by] < MAX_GROWTH

        shown = requests.get(f"{url}/{image_id}", timeout=10).json()
        assert shown["status"] == "active"
        assert shown["size"] == TOTAL
        assert shown["os_hash_value"] == sent.hexdigest()
        assert (server.store_dir / image_id).stat().st_size == TOTAL

        received = hashlib.sha512()
        count = 0
        started = time.monotonic()
        with requests.get(f"{url}/{image_id}/file", stream=True, timeout=600) as download:
            assert download.status_code == 200
            assert int(download.headers["Content-Length"]) == TOTAL
            for piece in download.iter_content(MiB):
                received.update(piece)
                count += len(piece)
        download_seconds = time.monotonic() - started
        print(f"download 2 GiB: {TOTAL / MiB / download_seconds:.0f} MiB/s")
        assert count == TOTAL
        assert received.hexdigest() == sent.hexdigest()
    finally:
        deleted = requests.delete(f"{url}/{image_id}", timeout=60)
    assert deleted.status_code == 204
    assert stored_files(server.store_dir) == []
