"""``RssSampler``: the peak resident memory of processes, sampled from ``/proc`` while a test
streams through them (the 2 GiB upload of tests/e2e, the RBD store's bounded memory)."""

from __future__ import annotations

import threading
from pathlib import Path


def status_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) * 1024
    raise AssertionError(f"no {field} in /proc/{pid}/status")


class RssSampler(threading.Thread):
    """Samples VmRSS of ``pids`` every 20 ms and keeps each one's maximum."""

    def __init__(self, pids: list[int]) -> None:
        super().__init__(daemon=True)
        self.peak = {pid: status_kib(pid, "VmRSS") for pid in pids}
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.wait(0.02):
            for pid in self.peak:
                self.peak[pid] = max(self.peak[pid], status_kib(pid, "VmRSS"))

    def stop(self) -> dict[int, int]:
        self.done.set()
        self.join(10)
        return self.peak
