"""The database handle: one engine per process, short transactions, no global session.

Each repository call runs in its own transaction (``read()`` or ``write()``), so no transaction
stays open while image data streams; on SQLite that keeps the single write lock free. Writes on
SQLite start with ``BEGIN IMMEDIATE`` so that two writers queue instead of failing when one
upgrades a read lock (the classic "database is locked" under several workers), and queue first
on a ``WriterGate`` (``imgreg.db.sqlite_gate``) so that the next writer starts as soon as the
last one commits.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from imgreg.db.sqlite_gate import GateTimeout, WriterGate
from imgreg.domain import errors

LOG = logging.getLogger(__name__)
SQLITE_BUSY_SECONDS = 30
CONNECT_TIMEOUT_SECONDS = 10
# The binary collations of every table on MariaDB and MySQL 8 (migration 0006).
MARIADB_COLLATION = "utf8mb4_nopad_bin"
MYSQL_COLLATION = "utf8mb4_0900_bin"
UNAVAILABLE = "The image database is unavailable at the moment; try again later."


def make_engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        # pre-ping: after the database restarts, a pooled connection that died with it is
        # replaced instead of failing the request that picks it.
        # READ COMMITTED everywhere (PostgreSQL's default): under MariaDB's REPEATABLE READ,
        # "DELETE … WHERE image_id = ?" on a secondary index takes gap locks that deadlock with
        # other images' inserts (seen as 1213 under concurrent upload/delete cycles). Every
        # status change is a compare-and-swap, which needs no stronger isolation.
        engine = create_engine(
            url,
            pool_pre_ping=True,
            pool_recycle=3600,
            isolation_level="READ COMMITTED",
            connect_args={"connect_timeout": CONNECT_TIMEOUT_SECONDS},
        )
        if parsed.get_backend_name() in ("mysql", "mariadb"):
            event.listen(engine, "connect", _binary_literals)
        return engine
    if parsed.database and parsed.database != ":memory:":
        os.makedirs(os.path.dirname(os.path.abspath(parsed.database)), exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_SECONDS})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # let the "begin" hook below issue BEGIN
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=FULL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
        conn.exec_driver_sql(f"BEGIN {mode}")

    return engine


def _binary_literals(dbapi_conn: Any, _record: Any) -> None:
    """MariaDB/MySQL: string literals in the tables' binary collation (migration 0006), not the
    connection's default ``utf8mb4_general_ci``. With a literal in another collation than its
    column, ``status = 'active'`` does not make ``status`` a constant for the ORDER BY, so a
    list's branch ``status = 'active' AND created_at > …`` sorted every row after the marker
    (a filesort) instead of reading the page off ``(deleted, status, created_at, id)``.
    Comparisons are unchanged: a column's collation already decided them."""
    cur = dbapi_conn.cursor()
    cur.execute(
        "SET collation_connection = IF(VERSION() LIKE '%MariaDB%', "
        f"'{MARIADB_COLLATION}', '{MYSQL_COLLATION}')"
    )
    cur.close()


@contextlib.contextmanager
def domain_errors() -> Iterator[None]:
    """Turn "the database cannot be reached" (refused or dropped connections, a lock wait
    that timed out, an exhausted pool) into ``ServiceUnavailable`` (503: a retry may succeed,
    nothing was committed), and a value the column cannot hold into ``Invalid`` (400; the API
    checks lengths and text first, this is the backstop). Any other database error stays what
    it is (a bug: 500)."""
    try:
        yield
    except sa_exc.DataError as exc:
        LOG.info("database refused a value: %s", exc.orig)
        raise errors.Invalid(
            "A value in the request cannot be stored: it is too long or not valid text."
        ) from None
    except sa_exc.DBAPIError as exc:
        if not (
            isinstance(exc, sa_exc.OperationalError | sa_exc.InterfaceError)
            or exc.connection_invalidated
        ):
            raise
        LOG.warning("database unavailable: %s", exc.orig)
        raise errors.ServiceUnavailable(UNAVAILABLE) from None
    except sa_exc.TimeoutError as exc:  # no pooled connection became free in time
        LOG.warning("database unavailable: %s", exc)
        raise errors.ServiceUnavailable(UNAVAILABLE) from None


class Database:
    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        database = make_url(url).database
        self._gate = (
            WriterGate(os.path.abspath(database))
            if self.engine.dialect.name == "sqlite" and database and database != ":memory:"
            else None
        )

    @contextlib.contextmanager
    def query(self) -> Iterator[Connection]:
        """A read-only transaction on a plain connection: no ORM session machinery, for the
        hot read paths that build ``Image`` objects from rows themselves."""
        with domain_errors(), self.engine.connect() as conn, conn.begin():
            yield conn

    @contextlib.contextmanager
    def read(self) -> Iterator[Session]:
        with domain_errors(), self._sessions() as session, session.begin():
            yield session

    @contextlib.contextmanager
    def _turn(self) -> Iterator[None]:
        """The right to write: on a SQLite file, a turn at the ``WriterGate``."""
        try:
            turn = self._gate.held(SQLITE_BUSY_SECONDS) if self._gate else contextlib.nullcontext()
            with turn:
                yield
        except GateTimeout:
            # as SQLite's own busy timeout would have: no turn to write came in time
            LOG.warning("database unavailable: no turn to write in %s s", SQLITE_BUSY_SECONDS)
            raise errors.ServiceUnavailable(UNAVAILABLE) from None

    @contextlib.contextmanager
    def write(self) -> Iterator[Session]:
        with self._turn(), domain_errors(), self._sessions() as session:
            if self.engine.dialect.name == "sqlite":
                # Starts the transaction with BEGIN IMMEDIATE (see the "begin" hook).
                session.connection(execution_options={"sqlite_begin": "IMMEDIATE"})
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise

    @contextlib.contextmanager
    def change(self) -> Iterator[Connection]:
        """``write()`` on a plain connection: for the hot write paths (PATCH, status changes,
        delete), which issue their own statements and need no ORM unit of work."""
        with self._turn(), domain_errors(), self.engine.connect() as conn:
            if self.engine.dialect.name == "sqlite":
                conn.execution_options(sqlite_begin="IMMEDIATE")
            with conn.begin():
                yield conn

    def dispose(self) -> None:
        self.engine.dispose()
