"""``imgreg-manage import-glance --glance-connection URL [--glance-config FILE] [--dry-run]
[--since TIMESTAMP] [--verify]``: bring a Glance database's images into imgreg's
(``imgreg.migrate``), keeping the data where Glance wrote it.

Exit status: 0 when it ran (skipped items are in the report), 1 when ``--verify`` found data
missing or different, 2 when it could not run (bad arguments, the Glance database unreadable or
not Glance's, a Glance store imgreg cannot read).
"""

from __future__ import annotations

import datetime as dt
import sys

from oslo_config import cfg


def add_parser(subparsers: object) -> None:
    sub = subparsers.add_parser(  # type: ignore[attr-defined]
        "import-glance", help="import a Glance database's images (the data stays in place)"
    )
    sub.add_argument("--glance-connection", required=True, help="Glance's database URL")
    sub.add_argument("--glance-config", help="glance-api.conf: check its stores first")
    sub.add_argument("--dry-run", action="store_true", help="count only, write nothing")
    sub.add_argument("--since", help="only what changed at or after this UTC time (ISO 8601)")
    sub.add_argument("--verify", action="store_true", help="read every blob back and check it")
    sub.add_argument(
        "--batch-size", type=int, default=100, help="images written per transaction (1-1000)"
    )


def parse_since(text: str | None) -> dt.datetime | None:
    if text is None:
        return None
    try:
        when = dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"--since: not an ISO 8601 time: {text!r:.64}") from None
    if when.tzinfo is not None:
        when = when.astimezone(dt.UTC).replace(tzinfo=None)
    return when


def run(conf: cfg.ConfigOpts) -> int:
    from imgreg.db.session import Database
    from imgreg.migrate import glance_config
    from imgreg.migrate.glance_source import GlanceSource, SourceError
    from imgreg.migrate.run import run as run_import
    from imgreg.store import registry

    args = conf.category
    try:
        since = parse_since(args.since)
        if not 1 <= args.batch_size <= 1000:
            raise ValueError("--batch-size must be from 1 to 1000")
        stores = registry.build(conf)
    except ValueError as exc:
        print(f"import-glance: {exc}", file=sys.stderr)
        return 2
    try:
        if args.glance_config:
            found = glance_config.problems(args.glance_config, stores)
            if found:
                for line in found:
                    print(f"import-glance: {line}", file=sys.stderr)
                return 2
        source = GlanceSource(args.glance_connection)
    except (SourceError, OSError) as exc:
        print(f"import-glance: {exc}", file=sys.stderr)
        stores.close()
        return 2
    db = None if args.dry_run else Database(conf.database.connection)
    try:
        report = run_import(source, db, stores, since, args.verify, batch=args.batch_size)
    finally:
        source.close()
        stores.close()
        if db is not None:
            db.dispose()
    print(f"Glance database at revision {source.version}")
    for line in report.lines(args.dry_run):
        print(line)
    data_problems = [s for s in report.skipped if s[0].startswith("data of image")]
    return 1 if data_problems else 0
