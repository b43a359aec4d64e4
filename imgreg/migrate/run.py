"""One ``import-glance`` run: the images to import, read in batches from Glance, converted,
written (or only counted, with ``--dry-run``), optionally read back (``--verify``), with a
progress line on stderr and a report at the end."""

from __future__ import annotations

import dataclasses
import datetime as dt
import sys
from typing import TextIO

from imgreg.db.session import Database
from imgreg.migrate import metadefs, tasks, verify, writer
from imgreg.migrate.convert import Record, convert
from imgreg.migrate.glance_source import GlanceSource
from imgreg.store.registry import Stores

BATCH = 100


@dataclasses.dataclass
class Report:
    images: int = 0  # read from Glance
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    properties: int = 0
    tags: int = 0
    members: int = 0
    locations: int = 0
    verified: int = 0
    tasks: int = 0
    tasks_written: tuple[int, int, int] = (0, 0, 0)
    namespaces: int = 0  # metadef namespaces read from Glance (and not skipped)
    namespaces_written: metadefs.Written | None = None
    by_status: dict[str, int] = dataclasses.field(default_factory=dict)
    skipped: list[tuple[str, str]] = dataclasses.field(default_factory=list)

    def count(self, record: Record) -> None:
        self.properties += len(record.properties)
        self.tags += len(record.tags)
        self.members += len(record.members)
        self.locations += len(record.locations)
        status = record.image["status"]
        self.by_status[status] = self.by_status.get(status, 0) + 1

    def lines(self, dry_run: bool) -> list[str]:
        verb = "would import" if dry_run else "imported"
        out = [
            f"images read: {self.images}",
            f"images {verb}: {sum(self.by_status.values())} "
            f"({', '.join(f'{k} {v}' for k, v in sorted(self.by_status.items())) or 'none'})",
        ]
        if not dry_run:
            out.append(
                f"images created: {self.created}, updated: {self.updated}, "
                f"unchanged: {self.unchanged}"
            )
        out += [
            f"properties: {self.properties}",
            f"tags: {self.tags}",
            f"members: {self.members}",
            f"locations: {self.locations}",
        ]
        out.append(f"tasks: {self.tasks}")
        if not dry_run:
            created, updated, unchanged = self.tasks_written
            out.append(f"tasks created: {created}, updated: {updated}, unchanged: {unchanged}")
        out.append(f"metadef namespaces read: {self.namespaces}")
        if self.namespaces_written is not None:
            out += self.namespaces_written.lines()
        if self.verified:
            out.append(f"locations verified: {self.verified}")
        out.append(f"skipped: {len(self.skipped)}")
        out += [f"skipped {what}: {why}" for what, why in self.skipped]
        return out


class Progress:
    """``import-glance: 120/200 images`` on one line of a terminal, or a line every batch."""

    def __init__(self, total: int, stream: TextIO = sys.stderr) -> None:
        self.total, self.stream = total, stream
        self.tty = stream.isatty()

    def show(self, done: int) -> None:
        width = 30
        filled = width * done // self.total if self.total else width
        bar = "#" * filled + "." * (width - filled)
        end = "\r" if self.tty and done < self.total else "\n"
        self.stream.write(f"import-glance: [{bar}] {done}/{self.total} images{end}")
        self.stream.flush()


def run(
    source: GlanceSource,
    db: Database | None,
    stores: Stores,
    since: dt.datetime | None,
    check_data: bool,
    progress_to: TextIO = sys.stderr,
    batch: int = BATCH,
) -> Report:
    """Import (``db`` None: only count) the images changed since ``since`` (all without)."""
    report = Report()
    ids = source.image_ids(since)
    progress = Progress(len(ids), progress_to)
    progress.show(0)
    for start in range(0, len(ids), batch):
        records = []
        for glance in source.read(ids[start : start + batch]):
            report.images += 1
            converted = convert(glance, stores)
            report.skipped += converted.skipped
            if converted.record is None:
                continue
            if check_data:
                problems = verify.check(stores, converted.record)
                report.skipped += problems
                report.verified += len(converted.record.locations) - len(problems)
            report.count(converted.record)
            records.append(converted.record)
        if db is not None and records:
            created, updated, unchanged = writer.write_batch(db, records, first=start == 0)
            report.created += created
            report.updated += updated
            report.unchanged += unchanged
        progress.show(min(start + batch, len(ids)))
    _tasks(source, db, since, report)
    namespaces = metadefs.read(source, since, report.skipped)
    report.namespaces = len(namespaces)
    if db is not None:
        report.namespaces_written = metadefs.write(db, namespaces)
    return report


def _tasks(
    source: GlanceSource, db: Database | None, since: dt.datetime | None, report: Report
) -> None:
    kept = []
    for task in tasks.read(source, since):
        why = tasks.refusal(task)
        if why:
            report.skipped.append((f"task {task['id']!s:.64}", why))
        else:
            kept.append(task)
    report.tasks = len(kept)
    if db is not None and kept:
        report.tasks_written = tasks.write(db, kept)
