"""The configured stores: one (``[glance_store] default_store``) or several, as Glance's
``enabled_backends`` names them, and which of them a blob URL belongs to.

``Stores`` is itself a ``Store``: ``add`` writes to the default store, and every operation on a
URL goes to the store the URL belongs to, so code that moves one image's data needs no
knowledge of how many stores there are. ``add_to`` writes to a named one.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any, BinaryIO

from oslo_config import cfg

from imgreg.domain import errors
from imgreg.domain.ports import BlobReader
from imgreg.store import PartialFile, Store, StoredBlob, create

KINDS = ("file", "swift", "s3", "rbd", "http")
READ_ONLY = frozenset({"http"})  # kinds that only read data others keep
# The names Glance keeps for its own staging and tasks stores: configured there, hidden in
# /v2/info/stores. imgreg stages into the image's store and needs neither; their sections
# may stay in a carried-over configuration.
RESERVED_PREFIX = "os_glance_"
SINGLE = "default"  # how the one store of a single-store configuration is called internally


@dataclasses.dataclass(frozen=True)
class StoreInfo:
    id: str
    kind: str
    description: str
    weight: int
    default: bool

    @property
    def read_only(self) -> bool:
        return self.kind in READ_ONLY


class _Section:
    """What a driver reads its options from (``conf.glance_store``), for one backend."""

    def __init__(self, conf: cfg.ConfigOpts, group: str) -> None:
        self.glance_store = conf[group]
        self._conf = conf

    def __getattr__(self, name: str) -> Any:
        return getattr(self._conf, name)  # the other groups (http's import filtering)


def configured(conf: cfg.ConfigOpts) -> dict[str, str]:
    """``enabled_backends`` checked: id → kind (empty for a single store)."""
    backends: dict[str, str] = dict(conf.enabled_backends or {})
    for store_id, kind in backends.items():
        if not store_id or ":" in store_id or store_id.startswith(RESERVED_PREFIX):
            raise ValueError(f"enabled_backends: {store_id!r} cannot name a store")
        if kind not in KINDS:
            raise ValueError(f"enabled_backends: store {store_id!r} has unknown type {kind!r}")
    return backends


def build(conf: cfg.ConfigOpts) -> Stores:
    """The stores ``conf`` configures (registering each backend's section's options)."""
    from imgreg.conf.store import backend_opts, store_opts

    backends = configured(conf)
    if not backends:
        kind = conf.glance_store.default_store
        if kind in READ_ONLY:
            raise ValueError(f"[glance_store] default_store cannot be the read-only {kind!r}")
        return Stores.single(create(kind, conf), kind)
    default = conf.glance_store.default_backend
    if default not in backends:
        raise ValueError(
            f"[glance_store] default_backend must be one of enabled_backends "
            f"({', '.join(backends)}), not {default!r}"
        )
    if backends[default] in READ_ONLY:
        raise ValueError(f"[glance_store] default_backend {default!r} is read-only")
    entries: dict[str, tuple[StoreInfo, Store]] = {}
    for store_id, kind in backends.items():
        conf.register_opts(store_opts + backend_opts, group=store_id)  # again: a no-op
        section = conf[store_id]
        info = StoreInfo(
            store_id, kind, section.store_description, section.weight, store_id == default
        )
        entries[store_id] = (info, create(kind, _Section(conf, store_id)))  # type: ignore[arg-type]
    return Stores(entries, default, multiple=True)


class Stores:
    """The configured stores by id, and a ``Store`` over all of them."""

    def __init__(
        self, entries: dict[str, tuple[StoreInfo, Store]], default: str, multiple: bool
    ) -> None:
        self._entries = entries
        self.default_id = default
        self.multiple = multiple

    @classmethod
    def single(cls, store: Store, kind: str = "file") -> Stores:
        """One store, as a single-store configuration has it."""
        return cls({SINGLE: (StoreInfo(SINGLE, kind, "", 0, True), store)}, SINGLE, False)

    # -- the stores -------------------------------------------------------------------------
    def ids(self) -> list[str]:
        return list(self._entries)

    def info(self) -> list[StoreInfo]:
        return [info for info, _store in self._entries.values()]

    def get(self, store_id: str) -> Store:
        try:
            return self._entries[store_id][1]
        except KeyError:
            raise errors.NotFound(f"Unknown store {store_id}") from None

    def read_only(self, store_id: str | None) -> bool:
        entry = self._entries.get(store_id or "")
        return entry[0].read_only if entry else False

    def weight(self, store_id: str | None) -> int:
        entry = self._entries.get(store_id or "")
        return entry[0].weight if entry else 0

    def __iter__(self) -> Iterator[tuple[str, Store]]:
        return ((store_id, store) for store_id, (_info, store) in self._entries.items())

    def resolve(self, url: str) -> tuple[str, str]:
        """(store id, blob name) of ``url``: the store that holds it, and the image id it is
        named by; ``NotFound`` when no configured store owns such a URL."""
        reasons = []
        for store_id, store in self:
            try:
                return store_id, store.blob_id(url)
            except errors.NotFound as exc:
                if exc.message != "Image data not found":
                    reasons.append(exc.message)  # a store that would own it, but refuses it
        raise errors.NotFound(" ".join(["The location is not in any configured store.", *reasons]))

    def owner(self, url: str) -> Store:
        return self.get(self.resolve(url)[0])

    # -- Store over all of them ---------------------------------------------------------------
    def add(
        self, image_id: str, stream: BinaryIO, expected_size: int | None, hash_algo: str
    ) -> StoredBlob:
        return self.add_to(self.default_id, image_id, stream, expected_size, hash_algo)

    def add_to(
        self,
        store_id: str,
        image_id: str,
        stream: BinaryIO,
        expected_size: int | None,
        hash_algo: str,
    ) -> StoredBlob:
        return self.get(store_id).add(image_id, stream, expected_size, hash_algo)

    def open(self, url: str, offset: int = 0, length: int | None = None) -> BlobReader:
        return self.owner(url).open(url, offset, length)

    def delete(self, url: str) -> None:
        try:
            store = self.owner(url)
        except errors.NotFound:
            return  # in no store (any more): nothing to delete
        store.delete(url)

    def blob_id(self, url: str) -> str:
        return self.resolve(url)[1]

    def in_use(self, url: str) -> bool:
        try:
            store: Any = self.owner(url)
        except errors.NotFound:
            return False
        in_use = getattr(store, "in_use", None)
        return bool(in_use(url)) if in_use is not None else False

    def list_blobs(self) -> list[str]:
        return [url for _id, store in self for url in store.list_blobs()]

    def list_partials(self) -> list[PartialFile]:
        if not self.multiple:
            return self.get(self.default_id).list_partials()
        return [
            dataclasses.replace(p, name=f"{store_id}:{p.name}")
            for store_id, store in self
            for p in store.list_partials()
        ]

    def delete_partial(self, name: str) -> None:
        if not self.multiple:
            self.get(self.default_id).delete_partial(name)
            return
        store_id, _, partial = name.partition(":")
        self.get(store_id).delete_partial(partial)

    def check(self) -> None:
        for _id, store in self:
            store.check()

    def close(self) -> None:
        for _id, store in self:
            close = getattr(store, "close", None)  # a cluster connection (RBD's)
            if close is not None:
                close()
