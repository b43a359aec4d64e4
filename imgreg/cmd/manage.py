"""``imgreg-manage [--config-file F] db sync|version``: database migrations (Alembic);
``imgreg-manage db load_metadefs [--path DIR] [--merge] [--prefer_new] [--overwrite] |
unload_metadefs | export_metadefs [--path DIR]``: metadata definitions in Glance's files
(``imgreg.db.metadefs.catalog``);
``imgreg-manage scrub``: finish delayed deletes and reap what killed uploads left
(``imgreg.maintenance.recovery``); ``imgreg-manage check``: verify the store/database invariants
(``imgreg.maintenance.invariants``), exiting 1 with one line per violation;
``imgreg-manage cache ...``: this node's image cache (``imgreg.cmd.manage_cache``);
``imgreg-manage import-glance ...``: adopt a Glance database (``imgreg.cmd.import_glance``)."""

from __future__ import annotations

import os
import sys
import time
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from oslo_config import cfg
from sqlalchemy import create_engine

from imgreg import conf as imgreg_conf
from imgreg.cmd import import_glance, manage_cache

MIGRATIONS = os.path.join(os.path.dirname(os.path.dirname(__file__)), "db", "migrations")


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", MIGRATIONS)
    config.attributes["url"] = url
    return config


def db_sync(url: str) -> None:
    from imgreg.db.session import make_engine

    make_engine(url).dispose()  # creates the SQLite directory when needed
    command.upgrade(alembic_config(url), "head")


def db_version(url: str) -> str | None:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    finally:
        engine.dispose()


def _add_commands(subparsers: object) -> None:
    db = subparsers.add_parser("db", help="database schema")  # type: ignore[attr-defined]
    db.add_argument(
        "action",
        choices=["sync", "version", "load_metadefs", "unload_metadefs", "export_metadefs"],
    )
    db.add_argument("--path", help="metadefs directory (default: metadata_source_path)")
    for flag in ("--merge", "--prefer_new", "--overwrite"):
        db.add_argument(flag, action="store_true", help="load_metadefs: see the docs")
    subparsers.add_parser("scrub", help="finish delayed deletes, reap dead uploads")  # type: ignore[attr-defined]
    subparsers.add_parser("check", help="verify the store against the database")  # type: ignore[attr-defined]
    manage_cache.add_parser(subparsers)
    import_glance.add_parser(subparsers)


def main(argv: list[str] | None = None) -> int:
    conf = imgreg_conf.CONF
    conf.register_cli_opt(cfg.SubCommandOpt("category", handler=_add_commands))
    conf(args=sys.argv[1:] if argv is None else argv, project="imgreg", prog="imgreg-manage")
    url = conf.database.connection
    if conf.category.name == "scrub":
        from imgreg.maintenance import scrubber
        from imgreg.services import wiring

        svc = wiring.build_services(conf)
        print(f"scrubbed {scrubber.scrub(svc)} image(s)")
        return _reap(svc)
    if conf.category.name == "check":
        return _check(conf)
    if conf.category.name == "cache":
        return manage_cache.run(conf)
    if conf.category.name == "import-glance":
        return import_glance.run(conf)
    if conf.category.action.endswith("_metadefs"):
        return _metadefs(conf)
    if conf.category.action == "sync":
        db_sync(url)
        print(f"database at revision {db_version(url)}")
    else:
        print(db_version(url) or "none")
    return 0


def _reap(svc: Any) -> int:
    """The reaper, once its lock is free: a server's periodic sweep may be running."""
    from imgreg.maintenance import reaper

    holder = reaper.holder_name()
    deadline = time.monotonic() + reaper.hold_seconds(svc.conf)
    while (done := reaper.sweep(svc, holder, due_only=False)) is None:
        if time.monotonic() > deadline:
            print("reaped: nothing, another process held the reaper's lock throughout")
            return 1
        time.sleep(0.2)
    print(f"reaped: {done}")
    return 0


def _metadefs(conf: cfg.ConfigOpts) -> int:
    from imgreg.db.metadefs import catalog
    from imgreg.db.session import Database
    from imgreg.domain.errors import ImgregError

    args = conf.category
    db = Database(conf.database.connection)
    path = args.path or conf.metadata_source_path
    try:
        if args.action == "unload_metadefs":
            catalog.unload(db)
            print("metadefs unloaded")
            return 0
        if args.action == "export_metadefs":
            for file in catalog.export(db, path):
                print(f"exported {file}")
            return 0
        mode = catalog.LoadMode(args.merge, args.prefer_new, args.overwrite)
        done, failed = catalog.load(db, path, mode)
    except (ImgregError, OSError) as exc:
        print(f"{args.action}: {getattr(exc, 'message', exc)}", file=sys.stderr)
        return 1
    finally:
        db.dispose()
    for line in done:
        print(line)
    for line in failed:
        print(f"failed: {line}", file=sys.stderr)
    return 1 if failed else 0


def _check(conf: cfg.ConfigOpts) -> int:
    from imgreg.maintenance import invariants
    from imgreg.services import wiring

    problems = invariants.check(wiring.build_services(conf))
    for problem in problems:
        print(problem)
    print(f"check: {len(problems)} violation(s)" if problems else "check: ok")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
