"""The cache's catalog: one SQLite file in the cache directory, per node (as Glance's sqlite
cache driver keeps one), shared by every process and thread of the node.

``cached``: the complete copies, with the CRC-32 and multihash their bytes were verified
against when written, their hits and access times; ``queued``: ids waiting for the prefetcher.
A copy is a hit only when its file and its row both exist: a row is added after the file is
renamed into place, so a crash between the two leaves a file without a row (an orphan that a
clean removes), never a row over a partial file.

Every call opens its own connection (cheap for a local file, and safe across threads and
forked workers); WAL lets readers go on while another process writes. A catalog that cannot be
read or written (its disk full or gone) raises ``ServiceUnavailable`` (503 from the cache API;
a download reads the store instead).
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import sqlite3
import time
from collections.abc import Iterator

from imgreg.domain import errors

LOG = logging.getLogger(__name__)

SCHEMA = (
    "CREATE TABLE IF NOT EXISTS cached (image_id TEXT PRIMARY KEY, size INTEGER NOT NULL,"
    " crc32 INTEGER NOT NULL, hash_value TEXT NOT NULL, hits INTEGER NOT NULL DEFAULT 0,"
    " last_accessed REAL NOT NULL, last_modified REAL NOT NULL)",
    "CREATE TABLE IF NOT EXISTS queued (image_id TEXT PRIMARY KEY, queued_at REAL NOT NULL)",
)
BUSY_TIMEOUT = 30.0


@dataclasses.dataclass(frozen=True)
class Entry:
    image_id: str
    size: int
    crc32: int
    hash_value: str
    hits: int
    last_accessed: float
    last_modified: float


class Catalog:
    def __init__(self, path: str) -> None:
        self.path = path
        with self._connect() as db:
            db.execute("PRAGMA journal_mode=WAL")
            for statement in SCHEMA:
                db.execute(statement)

    @contextlib.contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        try:
            db = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT, isolation_level=None)
            # WAL + NORMAL: a commit does not wait for the disk (a crash can lose the last
            # hits or rows, never corrupt the file; a lost row leaves an orphan a clean removes)
            db.execute("PRAGMA synchronous=NORMAL")
            try:
                yield db
            finally:
                db.close()
        except sqlite3.Error as exc:
            LOG.error("image cache catalog %s: %s", self.path, exc)
            raise errors.ServiceUnavailable("The image cache is unavailable.") from None

    # -- cached copies --------------------------------------------------------------------
    def add(self, image_id: str, size: int, crc32: int, hash_value: str) -> None:
        now = time.time()
        with self._connect() as db:
            db.execute(
                "INSERT OR REPLACE INTO cached VALUES (?, ?, ?, ?, 0, ?, ?)",
                (image_id, size, crc32, hash_value, now, now),
            )
            db.execute("DELETE FROM queued WHERE image_id = ?", (image_id,))

    def get(self, image_id: str) -> Entry | None:
        with self._connect() as db:
            row = db.execute("SELECT * FROM cached WHERE image_id = ?", (image_id,)).fetchone()
        return None if row is None else Entry(*row)

    def hit(self, image_id: str) -> None:
        with self._connect() as db:
            db.execute(
                "UPDATE cached SET hits = hits + 1, last_accessed = ? WHERE image_id = ?",
                (time.time(), image_id),
            )

    def remove(self, image_id: str) -> None:
        with self._connect() as db:
            db.execute("DELETE FROM cached WHERE image_id = ?", (image_id,))

    def entries(self) -> list[Entry]:
        """Every copy, least recently used first."""
        with self._connect() as db:
            rows = db.execute("SELECT * FROM cached ORDER BY last_accessed, image_id").fetchall()
        return [Entry(*row) for row in rows]

    # -- the prefetch queue ---------------------------------------------------------------
    def queue(self, image_id: str) -> None:
        with self._connect() as db:
            db.execute("INSERT OR IGNORE INTO queued VALUES (?, ?)", (image_id, time.time()))

    def unqueue(self, image_id: str) -> None:
        with self._connect() as db:
            db.execute("DELETE FROM queued WHERE image_id = ?", (image_id,))

    def queued(self) -> list[str]:
        """Queued ids, oldest first."""
        with self._connect() as db:
            rows = db.execute("SELECT image_id FROM queued ORDER BY queued_at, image_id")
            return [row[0] for row in rows.fetchall()]
