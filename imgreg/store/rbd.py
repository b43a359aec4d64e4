"""The Ceph RBD store (the ``rados``/``rbd`` bindings): one RBD image per image, laid out as
Glance lays it out, so that Nova and Cinder can clone from it.

Layout, in the pool ``rbd_store_pool`` of the cluster ``<fsid>``::

    <image-id>           a blob: RBD image with the protected snapshot ``snap``,
                         at rbd://<fsid>/<pool>/<image-id>/snap
    <image-id>.<token>   an upload in flight, or abandoned: a partial

An upload writes a new RBD image under a temporary name (created at the declared size, or
grown as the data comes when there is none), snapshots and protects it, and only then renames
it to the image id: a blob appears whole or not at all. A failed upload removes what it wrote.
A partial whose writer still has it open cannot be removed (Ceph refuses while it has
watchers), so ``delete_partial`` moves it to the pool's trash instead; the writer's next step
then fails and its clean-up empties the trash entry, and a trash entry of a writer that died
is listed again as a partial once Ceph has dropped its watch.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import re
import secrets
import threading
import uuid
from collections.abc import Iterator
from typing import Any, BinaryIO

from oslo_config import cfg

from imgreg.domain import errors
from imgreg.integrity.hashing import DualHasher
from imgreg.store import PartialFile, StoredBlob, register
from imgreg.store import rbd_removal as removal
from imgreg.store.rbd_errors import translated
from imgreg.store.source import BLOCK, Source, is_uuid

try:
    import rados
    import rbd
except ImportError:  # Debian's python3-rados/python3-rbd (tools/ceph --install)
    rados = rbd = None

MiB = 1024 * 1024
SCHEME = "rbd://"
SNAP = "snap"
GROW = 1024 * MiB  # an image of unknown size grows by at most this much at a time
PARTIAL = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\.[0-9a-f]+\Z")


class RbdReader:
    """``size`` bytes from ``offset`` of an RBD image's snapshot, read in blocks; data that
    ends early is a store error. Closing it closes the image."""

    def __init__(self, image: Any, offset: int, size: int) -> None:
        self.image = image
        self.offset = offset
        self.size = size

    def __iter__(self) -> Iterator[bytes]:
        pos, end = self.offset, self.offset + self.size
        with translated("read the data"):
            total = self.image.size()
            while pos < end:
                want = min(4 * BLOCK, end - pos, total - pos)
                if want <= 0:
                    raise errors.StoreError("Image data is shorter than recorded")
                chunk = self.image.read(pos, want)
                pos += len(chunk)
                yield chunk

    def close(self) -> None:
        self.image.close()


@register("rbd")
class RbdStore:
    def __init__(self, conf: cfg.ConfigOpts) -> None:
        if rbd is None:
            raise ValueError(
                "the rbd store needs the rados and rbd Python bindings (Debian's "
                "python3-rados and python3-rbd; tools/ceph --install)"
            )
        opts = conf.glance_store
        chunk = opts.rbd_store_chunk_size
        if chunk & (chunk - 1):
            raise ValueError("rbd_store_chunk_size must be a power of 2")
        self.pool = opts.rbd_store_pool
        self.order = (chunk * MiB).bit_length() - 1
        self.thin = opts.rbd_thin_provisioning
        self.timeout = opts.rados_connect_timeout
        self._settings = {
            "conffile": opts.rbd_store_ceph_conf or None,
            "rados_id": opts.rbd_store_user or None,
        }
        self._cluster: Any = None
        self._lock = threading.Lock()

    # -- the cluster: one connection, shared by every thread (librados is thread-safe) ----------
    def _connect(self) -> Any:
        with self._lock:
            if self._cluster is None:
                with translated("connect"):
                    cluster = rados.Rados(**self._settings)
                    try:
                        cluster.conf_set("client_mount_timeout", str(self.timeout))
                        cluster.conf_set("rados_osd_op_timeout", str(self.timeout * 10))
                        cluster.connect(timeout=self.timeout)
                    except BaseException:
                        cluster.shutdown()
                        raise
                self._cluster = cluster
            return self._cluster

    def close(self) -> None:
        """Disconnect; the next operation connects again."""
        with self._lock:
            cluster, self._cluster = self._cluster, None
        if cluster is not None:
            cluster.shutdown()

    @contextlib.contextmanager
    def _pool(self, pool: str | None = None) -> Iterator[Any]:
        cluster = self._connect()
        with translated("open the pool"):
            ioctx = cluster.open_ioctx(pool or self.pool)
        try:
            yield ioctx
        finally:
            ioctx.close()

    def fsid(self) -> str:
        """The cluster's fsid (what ``/v2/info/stores/detail`` shows)."""
        return str(self._connect().get_fsid())

    def _url(self, name: str) -> str:
        return f"{SCHEME}{self._connect().get_fsid()}/{self.pool}/{name}/{SNAP}"

    def _parse(self, url: str) -> tuple[str, str]:
        """Pool and image name of ``rbd://<fsid>/<pool>/<uuid>/snap`` (or Glance's oldest form,
        ``rbd://<uuid>``); an image of another cluster is not found."""
        parts = url[len(SCHEME) :].split("/") if url.startswith(SCHEME) else []
        if len(parts) == 1 and is_uuid(parts[0]):
            return self.pool, parts[0]
        if len(parts) != 4 or parts[3] != SNAP or not is_uuid(parts[2]) or not parts[1]:
            raise errors.NotFound("Image data not found")
        if parts[0] != self._connect().get_fsid():
            raise errors.NotFound("Image data not found")
        return parts[1], parts[2]

    def blob_id(self, url: str) -> str:
        pool, name = self._parse(url)
        if pool != self.pool:
            raise errors.NotFound("Image data not found")
        return name

    # -- Store ----------------------------------------------------------------------------------
    def add(
        self, image_id: str, stream: BinaryIO, expected_size: int | None, hash_algo: str
    ) -> StoredBlob:
        name = str(uuid.UUID(image_id))
        temp = f"{name}.{secrets.token_hex(6)}"
        with DualHasher(hash_algo) as hasher, self._pool() as ioctx:
            source = Source(stream, expected_size, hasher)
            internal_id = None
            try:
                with translated("write the data"):
                    self._refuse_if_full()
                    rbd.RBD().create(
                        ioctx,
                        temp,
                        expected_size or 0,
                        order=self.order,
                        old_format=False,
                        features=rbd.RBD_FEATURE_LAYERING,
                    )
                    with rbd.Image(ioctx, temp) as image:
                        internal_id = image.id()
                        self._write(image, source)
                        hasher.close()
                        image.create_snap(SNAP)
                        image.protect_snap(SNAP)
                    rbd.RBD().rename(ioctx, temp, name)  # the blob appears, whole
            except BaseException as exc:
                if internal_id is not None:
                    removal.remove_quietly(ioctx, temp, internal_id)
                if source.error is not None and source.error is not exc:
                    raise source.error from None
                raise
        return StoredBlob(
            url=self._url(name),
            size=source.size,
            checksum=hasher.md5.hexdigest(),
            hash_algo=hash_algo,
            hash_value=hasher.multi.hexdigest(),
            crc32=hasher.crc32,
        )

    def _refuse_if_full(self) -> None:
        """A full pool (its quota reached, or the OSDs full) makes librados wait for room
        rather than fail, so look at the pool's flags first (one monitor round trip)."""
        command = {"prefix": "osd pool ls", "detail": "detail", "format": "json"}
        ret, out, _ = self._connect().mon_command(json.dumps(command), b"", timeout=self.timeout)
        if ret != 0:  # a client without the monitor read capability: just try the write
            return
        for pool in json.loads(out):
            if pool["pool_name"] == self.pool and "full" in pool["flags_names"].split(","):
                raise errors.StoreFull("Image storage media is full")

    def _write(self, image: Any, source: Source) -> None:
        capacity = image.size()
        while buf := source.read(BLOCK):
            end = source.size
            if end > capacity:  # unknown size: grow ahead, up to double or GROW at a time
                capacity = max(end, min(2 * capacity, capacity + GROW))
                image.resize(capacity)
            if self.thin and buf.count(0) == len(buf):
                continue  # left unallocated: reads as zeros
            image.write(buf, end - len(buf))
        if capacity != source.size:
            image.resize(source.size)
        image.flush()

    def open(self, url: str, offset: int = 0, length: int | None = None) -> RbdReader:
        pool, name = self._parse(url)
        with self._pool(pool) as ioctx:
            try:
                with translated("read the data", passing=(rbd.ImageNotFound,)):
                    image = rbd.Image(ioctx, name, snapshot=SNAP, read_only=True)
            except rbd.ImageNotFound:
                raise errors.NotFound("Image data not found") from None
        try:
            size = length if length is not None else max(image.size() - offset, 0)
        except BaseException:
            image.close()
            raise
        return RbdReader(image, offset, size)

    def delete(self, url: str) -> None:
        """The snapshot, then the image; an image that has clones (Nova's or Cinder's copy-on-
        write children) stays, and the delete is refused."""
        pool, name = self._parse(url)
        with self._pool(pool) as ioctx, translated("delete the data"):
            try:
                removal.remove(ioctx, name)
            except rbd.ImageNotFound:
                return

    def in_use(self, url: str) -> bool:
        """Whether the snapshot has clones (Nova's or Cinder's copy-on-write children)."""
        pool, name = self._parse(url)
        with self._pool(pool) as ioctx, translated("look at the data"):
            try:
                with rbd.Image(ioctx, name, snapshot=SNAP, read_only=True) as image:
                    return bool(list(image.list_children2()))
            except rbd.ImageNotFound:
                return False

    def list_blobs(self) -> list[str]:
        with self._pool() as ioctx, translated("list the images"):
            names = rbd.RBD().list(ioctx)
        return sorted(self._url(name) for name in names if is_uuid(name))

    def list_partials(self) -> list[PartialFile]:
        """Temporary images in the pool, and those in its trash that nobody has open."""
        found = []
        with self._pool() as ioctx, translated("list the partial uploads"):
            for name in rbd.RBD().list(ioctx):
                if PARTIAL.match(name):
                    with contextlib.suppress(rbd.ImageNotFound):
                        with rbd.Image(ioctx, name, read_only=True) as image:
                            # the binding gives this one in local time (naive), the others UTC
                            modified = image.modify_timestamp().timestamp()
                        found.append(_partial(name, modified))
            for entry in rbd.RBD().trash_list(ioctx):
                if PARTIAL.match(entry["name"]) and not removal.in_use(ioctx, entry["id"]):
                    deleted = entry["deletion_time"].replace(tzinfo=datetime.UTC)
                    found.append(_partial(entry["name"], deleted.timestamp()))
        return sorted(found, key=lambda partial: partial.name)

    def delete_partial(self, name: str) -> None:
        if not PARTIAL.match(name):
            raise errors.NotFound("Partial upload not found")
        with self._pool() as ioctx, translated("delete a partial upload"):
            try:
                removal.remove(ioctx, name)
            except rbd.ImageNotFound:
                pass
            except rbd.ImageBusy:  # its writer has it open: out of sight now, removed later
                rbd.RBD().trash_move(ioctx, name, 0)
                return
            for entry in rbd.RBD().trash_list(ioctx):
                if entry["name"] == name and not removal.in_use(ioctx, entry["id"]):
                    with contextlib.suppress(rbd.ImageNotFound):
                        removal.remove_trashed(ioctx, entry["id"])

    def check(self) -> None:
        """The pool's statistics: one round trip to an OSD-backed answer."""
        with self._pool() as ioctx, translated("answer the health check"):
            ioctx.get_stats()


def _partial(name: str, modified: float) -> PartialFile:
    return PartialFile(name=name, image_id=name.split(".", 1)[0], modified=modified)
