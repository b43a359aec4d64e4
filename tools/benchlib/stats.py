"""Percentiles and latency summaries (milliseconds) of lists of seconds."""

from __future__ import annotations

import math
from typing import Any


def percentile(sorted_values: list[float], pct: float) -> float | None:
    if not sorted_values:
        return None
    rank = max(1, math.ceil(pct / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


def latency_summary(latencies: list[float]) -> dict[str, Any]:
    values = sorted(latencies)
    return {
        "p50_ms": _ms(percentile(values, 50)),
        "p99_ms": _ms(percentile(values, 99)),
        "max_ms": _ms(values[-1] if values else None),
        "mean_ms": _ms(sum(values) / len(values) if values else None),
    }


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 3)
