"""The image store interface, the value it returns, and registration of drivers by name.

A driver is a class with ``add``, ``open`` and ``delete``, plus ``list_blobs``,
``list_partials`` and ``delete_partial`` for the reaper and the invariant check (see ``Store``),
registered with ``@register("name")`` and built from configuration by ``create(name, conf)``.
It raises only ``imgreg.domain.errors`` exceptions (``StoreFull``, ``StoreError``, ``Invalid``,
``NotFound``) and guarantees that a failed ``add`` leaves nothing behind.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, BinaryIO, Protocol, runtime_checkable

from oslo_config import cfg

from imgreg.domain.ports import BlobReader


@dataclasses.dataclass(frozen=True)
class StoredBlob:
    """What ``Store.add`` wrote: where, how much, and its digests (hex)."""

    url: str
    size: int
    checksum: str
    hash_algo: str
    hash_value: str
    crc32: int


@dataclasses.dataclass(frozen=True)
class PartialFile:
    """An upload's temporary data: its name in the store, the image it is for, and when it
    was last written (seconds since the epoch)."""

    name: str
    image_id: str
    modified: float


@runtime_checkable
class LocalBlobReader(BlobReader, Protocol):
    """A reader over a local file (the filesystem store's): it can be checksummed in place,
    remembers when it was last found intact, and can be sent with ``sendfile``."""

    file: BinaryIO

    def crc32(self) -> int: ...
    def verified_within(self, crc: int, seconds: float) -> bool: ...
    def mark_verified(self, crc: int) -> None: ...


@runtime_checkable
class CloningStore(Protocol):
    """A store whose blobs can have copy-on-write clones (RBD's, made by Nova or Cinder),
    which keep the data in use: it cannot be deleted while they exist."""

    def in_use(self, url: str) -> bool: ...


class Store(Protocol):
    def add(
        self, image_id: str, stream: BinaryIO, expected_size: int | None, hash_algo: str
    ) -> StoredBlob:
        """Stream ``stream`` to a new blob for ``image_id``, hashing on the way.

        ``expected_size`` (when given) must equal the byte count (``Invalid`` otherwise).
        The blob becomes durable and visible only when this returns.
        """
        ...

    def open(self, url: str, offset: int = 0, length: int | None = None) -> BlobReader:
        """Read ``length`` bytes (to the end when ``None``) from ``offset``."""
        ...

    def delete(self, url: str) -> None:
        """Remove a blob; a missing blob is not an error."""
        ...

    def list_blobs(self) -> list[str]:
        """The URLs of every complete blob in the store, whoever owns it."""
        ...

    def list_partials(self) -> list[PartialFile]:
        """The temporary files of uploads in flight, or of uploads whose process died."""
        ...

    def delete_partial(self, name: str) -> None:
        """Remove one partial file by the name ``list_partials`` gave; missing is no error."""
        ...

    def blob_id(self, url: str) -> str:
        """The name (an image id) of the blob ``url`` addresses, when ``url`` is one of this
        store's own, in its canonical form; ``NotFound`` for any other URL."""
        ...

    def check(self) -> None:
        """Raise ``StoreError`` unless the store answers and takes writes (the readiness
        check behind ``/healthcheck``, asked every few seconds: keep it one cheap call)."""
        ...


_DRIVERS: dict[str, Callable[[cfg.ConfigOpts], Any]] = {}


def register(name: str) -> Callable[[type], type]:
    def wrap(cls: type) -> type:
        _DRIVERS[name] = cls
        return cls

    return wrap


def create(name: str, conf: cfg.ConfigOpts) -> Store:
    from imgreg.store import filesystem, http, rbd, s3, swift  # noqa: F401 - the built-in drivers

    try:
        factory = _DRIVERS[name]
    except KeyError:
        raise ValueError(f"unknown image store {name!r}; known: {sorted(_DRIVERS)}") from None
    store: Store = factory(conf)
    return store
