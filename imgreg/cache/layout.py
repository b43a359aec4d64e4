"""Where the cache keeps things, under ``image_cache_dir``::

    <dir>/<image-id>               a complete, verified copy (a hit once the catalog has it)
    <dir>/incomplete/<image-id>    a fill in flight, or left by one that died: never a
                                   hit, removed by a clean
    <dir>/locks/<image-id>         flock'd by the one fill of the image (never renamed, so
                                   every process locks the same file)
    <dir>/cache.sqlite             the catalog (``imgreg.cache.catalog``)

Only canonical image ids name files: any other name is refused before a path is built.
"""

from __future__ import annotations

import contextlib
import os

from imgreg.store.source import is_uuid

CATALOG = "cache.sqlite"
INCOMPLETE = "incomplete"
LOCKS = "locks"


class Layout:
    def __init__(self, root: str) -> None:
        self.root = os.path.abspath(root)
        self.incomplete = os.path.join(self.root, INCOMPLETE)
        self.locks = os.path.join(self.root, LOCKS)
        self.catalog = os.path.join(self.root, CATALOG)

    def make(self) -> None:
        os.makedirs(self.incomplete, exist_ok=True)
        os.makedirs(self.locks, exist_ok=True)

    def entry(self, image_id: str) -> str:
        return os.path.join(self.root, _checked(image_id))

    def partial(self, image_id: str) -> str:
        return os.path.join(self.incomplete, _checked(image_id))

    def lock(self, image_id: str) -> str:
        return os.path.join(self.locks, _checked(image_id))

    def entry_names(self) -> list[str]:
        """Image ids that have a complete file."""
        return sorted(e.name for e in os.scandir(self.root) if is_uuid(e.name) and e.is_file())

    def partial_names(self) -> list[str]:
        return sorted(e.name for e in os.scandir(self.incomplete) if is_uuid(e.name))

    def fsync_dir(self) -> None:
        fd = os.open(self.root, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def unlink(path: str) -> bool:
    """Remove ``path``; whether it was there."""
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)
        return True
    return False


def _checked(image_id: str) -> str:
    if not is_uuid(image_id):
        raise ValueError(f"not an image id: {image_id!r}")
    return image_id
