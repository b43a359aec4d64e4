"""load_run: a measured run of N requests from C threads, each on its own connection."""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable
from typing import Any

from .client import Conn
from .procs import cpu_seconds
from .stats import latency_summary
from .target import Target


def load_run(
    target: Target,
    phase: str,
    concurrency: int,
    count: int,
    seconds: float,
    work: Callable[[Conn, int], None],
    warmup: bool = True,
) -> dict[str, Any]:
    """``count`` calls of ``work(conn, i)`` from ``concurrency`` threads, each with its own
    connection; one untimed warm-up call per thread first. Stops issuing after ``seconds``."""
    counter = itertools.count()
    lock = threading.Lock()
    ready = threading.Barrier(concurrency + 1)
    go = threading.Barrier(concurrency + 1)
    latencies: list[float] = []
    errors: list[str] = []
    state = {"deadline": 0.0, "capped": False, "last": 0.0}

    def worker(slot: int) -> None:
        conn = Conn(target.ep)
        mine: list[float] = []
        bad: list[str] = []
        try:
            if warmup:
                try:
                    work(conn, -1 - slot)
                except Exception as exc:
                    bad.append(f"warm-up: {exc}")
            ready.wait()
            go.wait()
            while True:
                with lock:
                    i = next(counter)
                if i >= count:
                    break
                if time.perf_counter() > state["deadline"]:
                    state["capped"] = True
                    break
                t0 = time.perf_counter()
                try:
                    work(conn, i)
                    mine.append(time.perf_counter() - t0)
                except Exception as exc:
                    bad.append(str(exc) or repr(exc))
        finally:
            conn.close()
            with lock:
                latencies.extend(mine)
                errors.extend(bad)
                state["last"] = max(state["last"], time.perf_counter())

    threads = [threading.Thread(target=worker, args=(n,), daemon=True) for n in range(concurrency)]
    for thread in threads:
        thread.start()
    ready.wait()
    cpu0 = cpu_seconds(target.roots)
    client0 = time.process_time()
    t0 = time.perf_counter()
    state["deadline"] = t0 + seconds
    go.wait()
    for thread in threads:
        thread.join()
    elapsed = max(state["last"], time.perf_counter()) - t0
    client_cpu = time.process_time() - client0
    cpu1 = cpu_seconds(target.roots)
    done = len(latencies) + len(errors)
    for message in errors[:5]:
        target.error(phase, message)
    if len(errors) > 5:
        target.error(phase, f"... and {len(errors) - 5} more errors")
    result: dict[str, Any] = {
        "concurrency": concurrency,
        "requests": done,
        "errors": len(errors),
        "seconds": round(elapsed, 3),
        "rps": round(len(latencies) / elapsed, 2) if elapsed > 0 else None,
        **latency_summary(latencies),
        "capped": state["capped"],
        "client_cpu_s": round(client_cpu, 3),
    }
    if cpu0 is not None and cpu1 is not None:
        result["server_cpu_s"] = round(cpu1 - cpu0, 3)
        result["cpu_ms_per_req"] = round((cpu1 - cpu0) * 1000 / done, 3) if done else None
    return result
