"""``ImageCache``: this node's cache, as the download, the cache API, the upkeep timer and
``imgreg-manage cache`` use it (``imgreg.cache`` says what each part does).

Concurrent first downloads of one image on a node fill it once: the first takes the fill's lock
and streams the store's bytes to its client and into the cache; the others wait for that fill
(``FILL_WAIT`` seconds at most, polling) and are then served the copy; one that waits longer,
or finds the fill failed, reads the store itself (and fills the cache if the lock is free).
"""

from __future__ import annotations

import dataclasses
import logging
import os
import time

from oslo_config import cfg

from imgreg.cache import fill as fills
from imgreg.cache import hits
from imgreg.cache.catalog import Catalog, Entry
from imgreg.cache.fill import Fill, cacheable
from imgreg.cache.layout import Layout, unlink
from imgreg.domain.image import Image
from imgreg.store.file_reader import FileReader

LOG = logging.getLogger(__name__)
FILL_WAIT = 60.0
POLL = 0.05


@dataclasses.dataclass(frozen=True)
class Pruned:
    files: int
    bytes: int


class ImageCache:
    def __init__(self, conf: cfg.ConfigOpts) -> None:
        self.conf = conf
        self.layout = Layout(conf.image_cache_dir)
        self.layout.make()
        self.catalog = Catalog(self.layout.catalog)

    # -- downloads ----------------------------------------------------------------------
    def open_hit(self, image: Image, span: tuple[int, int] | None = None) -> FileReader | None:
        if not cacheable(image):
            return None
        return hits.open_hit(
            self.layout, self.catalog, image, span, self.conf.download_verify_interval
        )

    def begin_fill(self, image: Image, wait: float = 0.0) -> Fill | FileReader | None:
        """A fill of ``image`` (this caller reads the store and fills the cache), a hit (a
        fill that was under way finished within ``wait`` seconds), or None (not cacheable, or
        another fill still runs: read the store without filling)."""
        if not cacheable(image):
            return None
        deadline = time.monotonic() + wait
        while True:
            try:
                fd = fills.try_lock(self.layout, image.id)
            except OSError as exc:
                LOG.warning("image %s: not cached: %s", image.id, exc)
                return None
            if fd is not None:
                # the fill we waited for may have finished just before we took the lock
                found = self.open_hit(image)
                if found is not None:
                    os.close(fd)
                    return found
                try:
                    return Fill(self.layout, self.catalog, image, fd)
                except OSError as exc:
                    os.close(fd)
                    LOG.warning("image %s: not cached: %s", image.id, exc)
                    return None
            if time.monotonic() >= deadline:
                return None
            time.sleep(POLL)

    # -- management -----------------------------------------------------------------------
    def entries(self) -> list[Entry]:
        return self.catalog.entries()

    def cached(self, image_id: str) -> bool:
        return self.catalog.get(image_id) is not None

    def delete(self, image_id: str) -> None:
        hits.evict(self.layout, self.catalog, image_id)

    def queue(self, image_id: str) -> None:
        self.catalog.queue(image_id)

    def queued(self) -> list[str]:
        return self.catalog.queued()

    def unqueue(self, image_id: str) -> None:
        self.catalog.unqueue(image_id)

    def clear(self, cache: bool = True, queue: bool = True) -> None:
        if cache:
            for entry in self.catalog.entries():
                self.delete(entry.image_id)
        if queue:
            for image_id in self.catalog.queued():
                self.catalog.unqueue(image_id)

    def prune(self) -> Pruned:
        """Remove least recently used copies until the cache holds at most
        ``image_cache_max_size`` bytes."""
        entries = self.catalog.entries()
        total = sum(e.size for e in entries)
        files = removed = 0
        for entry in entries:
            if total <= self.conf.image_cache_max_size:
                break
            self.delete(entry.image_id)
            total -= entry.size
            files += 1
            removed += entry.size
        if files:
            LOG.info("image cache pruned: %d files, %d bytes", files, removed)
        return Pruned(files, removed)

    def clean(self) -> int:
        """Remove what no fill will finish: partial files older than
        ``image_cache_stall_time`` that no live fill holds, complete files the catalog does
        not know (left by a crash between rename and record), and rows without a file. The
        number of files removed."""
        removed = 0
        stall = self.conf.image_cache_stall_time
        for image_id in self.layout.partial_names():
            path = self.layout.partial(image_id)
            lock = fills.try_lock(self.layout, image_id)
            if lock is None:
                continue  # a fill is writing it
            try:
                if time.time() - os.stat(path).st_mtime >= stall:
                    removed += unlink(path)
            except FileNotFoundError:
                pass
            finally:
                os.close(lock)
        for image_id in os.listdir(self.layout.locks):
            self._remove_lock(image_id)
        known = {e.image_id for e in self.catalog.entries()}
        for image_id in self.layout.entry_names():
            if image_id not in known:
                removed += self._remove_orphan(image_id)
        for image_id in known:
            if not os.path.exists(self.layout.entry(image_id)):
                self.catalog.remove(image_id)
        return removed

    def _remove_orphan(self, image_id: str) -> int:
        # A fill keeps the image's lock until the catalog has its copy: skip one it holds.
        lock = fills.try_lock(self.layout, image_id)
        if lock is None:
            return 0
        try:
            if self.catalog.get(image_id) is not None:
                return 0
            return int(unlink(self.layout.entry(image_id)))
        finally:
            os.close(lock)

    def _remove_lock(self, name: str) -> None:
        """An unheld lock file (unlinked while held, so a process that opened it before
        finds it gone and opens the new one: ``try_lock``)."""
        try:
            lock = fills.try_lock(self.layout, name)
        except ValueError:
            return  # not an image id: not ours
        if lock is not None:
            try:
                unlink(self.layout.lock(name))
            finally:
                os.close(lock)
