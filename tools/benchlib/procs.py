"""The server's processes, read from /proc: the process tree, its CPU seconds and RSS."""

from __future__ import annotations

import os
import threading
from pathlib import Path

from .sizes import MiB

CLK_TCK = os.sysconf("SC_CLK_TCK")


def read_stat(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # "pid (comm) state ppid ...": comm may hold spaces and parentheses
    return text.rsplit(")", 1)[1].split()


def process_tree(roots: list[int]) -> list[int]:
    """``roots`` and all their live descendants."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            stat = read_stat(int(entry))
            if stat is not None:
                children.setdefault(int(stat[1]), []).append(int(entry))
    seen: list[int] = []
    todo = [pid for pid in roots if Path(f"/proc/{pid}").exists()]
    while todo:
        pid = todo.pop()
        if pid not in seen:
            seen.append(pid)
            todo.extend(children.get(pid, []))
    return sorted(seen)


def cpu_seconds(roots: list[int]) -> float | None:
    """utime + stime (+ cutime + cstime: children that exited and were reaped) of the tree."""
    if not roots:
        return None
    ticks = 0
    for pid in process_tree(roots):
        stat = read_stat(pid)
        if stat is not None:
            # after ")": state=0 ppid=1 ... utime=11 stime=12 cutime=13 cstime=14
            ticks += sum(int(v) for v in stat[11:15])
    return ticks / CLK_TCK


def rss_bytes(pids: list[int]) -> int:
    total = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
                    break
        except OSError:
            continue
    return total


class RssSampler(threading.Thread):
    """Samples the summed VmRSS of the server's process tree every 20 ms."""

    def __init__(self, roots: list[int]) -> None:
        super().__init__(daemon=True)
        self.roots = roots
        self.pids = process_tree(roots)
        self.before = rss_bytes(self.pids)
        self.peak = self.before
        self.done = threading.Event()

    def run(self) -> None:
        refresh = 0
        while not self.done.wait(0.02):
            refresh += 1
            if refresh % 25 == 0:  # a worker may have been (re)started
                self.pids = process_tree(self.roots)
            self.peak = max(self.peak, rss_bytes(self.pids))

    def stop(self) -> None:
        self.done.set()
        self.join(10)


def rss_mib(roots: list[int]) -> float | None:
    if not roots:
        return None
    return round(rss_bytes(process_tree(roots)) / MiB, 1)
