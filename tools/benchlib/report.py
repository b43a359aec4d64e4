"""What a run prints and writes: the figures, their table (text or Markdown), phase notes."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from .sizes import CONCURRENCIES
from .target import Target


@dataclass(frozen=True)
class Figure:
    label: str
    path: tuple[str, ...]
    unit: str
    higher_is_better: bool


def figures() -> list[Figure]:
    rows: list[Figure] = []
    load_phases = [
        ("schema", "schema GET"),
        ("show", "image GET"),
        ("list25", "list limit=25"),
        ("list1000", "list limit=1000"),
        ("filtered", "list raw, name:asc, 25"),
        ("public", "list public+status, created_at:desc, 25"),
        ("create", "create (POST)"),
        ("patch", "PATCH /name"),
    ]
    for key, label in load_phases:
        for c in CONCURRENCIES:
            conc = f"c{c}"
            rows += [
                Figure(f"{label} {conc} req/s", (key, conc, "rps"), "req/s", True),
                Figure(f"{label} {conc} p50", (key, conc, "p50_ms"), "ms", False),
                Figure(f"{label} {conc} p99", (key, conc, "p99_ms"), "ms", False),
                Figure(
                    f"{label} {conc} server CPU", (key, conc, "cpu_ms_per_req"), "ms/req", False
                ),
            ]
    rows += [
        Figure("upload chunked", ("upload", "mib_s"), "MiB/s", True),
        Figure("upload chunked, slowest round", ("upload", "slowest_mib_s"), "MiB/s", True),
        Figure("upload server CPU", ("upload", "cpu_s_per_gib"), "s/GiB", False),
        Figure("upload machine CPU", ("upload", "machine_cpu_s_per_gib"), "s/GiB", False),
        Figure("4 uploads at once, aggregate", ("upload4", "mib_s"), "MiB/s", True),
        Figure("4 uploads at once, server CPU", ("upload4", "cpu_s_per_gib"), "s/GiB", False),
        Figure(
            "4 uploads at once, machine CPU", ("upload4", "machine_cpu_s_per_gib"), "s/GiB", False
        ),
        Figure("upload peak server RSS", ("upload", "rss_peak_mib"), "MiB", False),
        Figure("upload server RSS growth", ("upload", "rss_growth_mib"), "MiB", False),
        Figure("canary during upload n", ("upload", "canary", "requests"), "GETs", True),
        Figure("canary during upload p50", ("upload", "canary", "p50_ms"), "ms", False),
        Figure("canary during upload p99", ("upload", "canary", "p99_ms"), "ms", False),
        Figure(
            "upload while serving the canary", ("upload", "canary", "upload_mib_s"), "MiB/s", True
        ),
        Figure("download", ("download", "mib_s"), "MiB/s", True),
        Figure("download, first read (warm-up)", ("download", "first_mib_s"), "MiB/s", True),
        Figure("download, slowest round", ("download", "slowest_mib_s"), "MiB/s", True),
        Figure("download server CPU", ("download", "cpu_s_per_gib"), "s/GiB", False),
        Figure("download + md5/sha512 check", ("download", "verified_mib_s"), "MiB/s", True),
        Figure("create+1MiB+delete c8", ("cycles", "rps"), "cycles/s", True),
        Figure("create+1MiB+delete c8 p50", ("cycles", "p50_ms"), "ms", False),
        Figure("create+1MiB+delete c8 p99", ("cycles", "p99_ms"), "ms", False),
        Figure("create+1MiB+delete c8 server CPU", ("cycles", "cpu_ms_per_req"), "ms/cycle", False),
        Figure("seed create c16", ("seed", "rps"), "req/s", True),
        Figure("seed create c16 server CPU", ("seed", "cpu_ms_per_req"), "ms/req", False),
        Figure("cleanup delete c16", ("cleanup", "rps"), "req/s", True),
        Figure("cleanup delete c16 server CPU", ("cleanup", "cpu_ms_per_req"), "ms/req", False),
    ]
    return rows


def lookup(results: dict[str, Any], path: tuple[str, ...]) -> float | None:
    node: Any = results
    for key in path:
        if not isinstance(node, dict) or key not in node:
            return None
        node = node[key]
    return node if isinstance(node, int | float) else None


def fmt(value: float | None) -> str:
    if value is None:
        return "n/a"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def table_rows(
    targets: list[Target], figs: list[Figure] | None = None
) -> tuple[list[str], list[list[str]]]:
    header = ["figure", "unit", *(t.label for t in targets)]
    if len(targets) == 2:
        header += [f"{targets[0].label}/{targets[1].label}", "better"]
    rows = []
    for fig in figures() if figs is None else figs:
        values = [lookup(t.results, fig.path) for t in targets]
        row = [fig.label, fig.unit, *(fmt(v) for v in values)]
        if len(targets) == 2:
            a, b = values
            if a is None or b is None:
                row += ["n/a", ""]
            else:
                ratio = a / b if b else math.inf
                row.append(f"{ratio:.2f}" if math.isfinite(ratio) else "inf")
                adv = ratio if fig.higher_is_better else (1 / ratio if ratio else math.inf)
                if not math.isfinite(adv) or adv == 0:
                    row.append("")
                elif adv >= 1:
                    row.append(f"{targets[0].label} {adv:.1f}x")
                else:
                    row.append(f"{targets[1].label} {1 / adv:.1f}x")
        rows.append(row)
    return header, rows


def print_table(targets: list[Target], figs: list[Figure] | None = None) -> None:
    header, rows = table_rows(targets, figs)
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    line = "  ".join(
        h.ljust(w) if i < 2 else h.rjust(w)
        for i, (h, w) in enumerate(zip(header, widths, strict=True))
    )
    print(line)
    print("-" * len(line))
    for row in rows:
        print(
            "  ".join(
                c.ljust(w) if i < 2 else c.rjust(w)
                for i, (c, w) in enumerate(zip(row, widths, strict=True))
            )
        )


def markdown_table(targets: list[Target], figs: list[Figure] | None = None) -> str:
    header, rows = table_rows(targets, figs)
    out = [
        "| " + " | ".join(header) + " |",
        "|" + "|".join(["---"] * 2 + ["---:"] * (len(header) - 2)) + "|",
    ]
    out += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(out) + "\n"


def phase_note(result: dict[str, Any]) -> str:
    parts = []
    for key, value in result.items():
        if isinstance(value, dict) and "rps" in value:
            parts.append(
                f"{key}: {fmt(value['rps'])}/s p99 {fmt(value['p99_ms'])} ms"
                + (
                    f" cpu {fmt(value.get('cpu_ms_per_req'))} ms"
                    if "cpu_ms_per_req" in value
                    else ""
                )
                + (f" ERR {value['errors']}" if value["errors"] else "")
            )
    if "rps" in result:
        parts.append(f"{fmt(result['rps'])}/s p99 {fmt(result['p99_ms'])} ms")
        if result.get("errors"):
            parts.append(f"ERR {result['errors']}")
    if "mib_s" in result:
        parts.append(f"{fmt(result['mib_s'])} MiB/s")
    if "verified_mib_s" in result:
        parts.append(f"verified {fmt(result['verified_mib_s'])} MiB/s")
    if "canary" in result:
        canary = result["canary"]
        parts.append(f"with canary {fmt(canary['upload_mib_s'])} MiB/s")
        parts.append(f"canary p99 {fmt(canary['p99_ms'])} ms")
    if "rss_growth_mib" in result:
        parts.append(f"rss +{fmt(result['rss_growth_mib'])} MiB")
    return "; ".join(parts)
