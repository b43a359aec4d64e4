"""Location: where image data lives. An upload's session (``imgreg.layers.upload``) writes to
the store, inspecting the format on the way, and records what the store reports (size, md5
``checksum``, ``os_hash_algo``/``os_hash_value``, the blob URL) and the inspected
``virtual_size``; this layer serves data back and removes blobs when an image goes.
"""

from __future__ import annotations

import logging

from oslo_config import cfg

from imgreg.context import RequestContext
from imgreg.domain import errors
from imgreg.domain.image import Image
from imgreg.domain.ports import BlobReader, RecordRepo, UploadSession, UploadTerms
from imgreg.domain.query import ListQuery
from imgreg.integrity.verify import VERIFY_FIRST_MAX, VerifiedReader, verify_crc32
from imgreg.layers.base import FactoryLayer
from imgreg.layers.copies import read_order
from imgreg.layers.upload import DataUpload
from imgreg.store import LocalBlobReader
from imgreg.store.registry import Stores

LOG = logging.getLogger(__name__)


class LocationImageFactory(FactoryLayer):
    """New images have no data yet, so nothing to do; kept so the chain reads in full."""


class LocationImageRepo:
    """The innermost layer of the chain, over the records (``RecordRepo``): it puts the data
    beside them. The operations it does not touch pass straight through."""

    def __init__(
        self, inner: RecordRepo, ctx: RequestContext, store: Stores, conf: cfg.ConfigOpts
    ) -> None:
        self.inner = inner
        self.ctx = ctx
        self.store = store
        self.conf = conf

    def get(self, image_id: str) -> Image:
        return self.inner.get(image_id)

    def list(self, query: ListQuery) -> list[Image]:
        return self.inner.list(query)

    def add(self, image: Image, max_images: int | None = None) -> Image:
        return self.inner.add(image, max_images=max_images)

    def save(self, image: Image, from_state: str | None = None) -> Image:
        return self.inner.save(image, from_state=from_state)

    def usage(self, owner: str | None) -> tuple[int, int]:
        return self.inner.usage(owner)

    def hold_for_session(self, image: Image, nbytes: int, lease: float, quota: int = 0) -> None:
        self.inner.hold_for_session(image, nbytes, lease, quota)

    def renew_session_hold(self, image_id: str, lease: float) -> None:
        self.inner.renew_session_hold(image_id, lease)

    def release_session_hold(self, image_id: str) -> None:
        self.inner.release_session_hold(image_id)

    def begin_upload(self, image: Image, terms: UploadTerms) -> UploadSession:
        return DataUpload(self.inner.begin_upload(image), self.store, terms, self.conf)

    def check_download(self, image: Image) -> None:
        # staged data (uploading, importing) is not the image's yet: no data, as in Glance
        if not image.locations or image.size is None or image.status in ("uploading", "importing"):
            raise errors.NoData(f"Image {image.id} has no data")

    def open_data(
        self, image: Image, offset: int = 0, length: int | None = None, prefer: tuple[str, ...] = ()
    ) -> BlobReader:
        """The first copy (``read_order``) that opens and, read whole from a local file, passes
        its checksum; a copy that fails either way (missing, its store down, corrupt) passes
        the read on to the next, and the last one's error is the answer."""
        if not image.locations:
            raise errors.NoData(f"Image {image.id} has no data")
        urls = read_order(self.store, image, prefer)
        for url in urls[:-1]:
            try:
                return self._open(image, url, offset, length)
            except (errors.NotFound, errors.StoreError) as exc:
                LOG.warning(
                    "image %s: copy %s unreadable (%s); trying the next", image.id, url, exc
                )
        return self._open(image, urls[-1], offset, length)

    def _open(self, image: Image, url: str, offset: int, length: int | None) -> BlobReader:
        reader = self.store.open(url, offset, length)
        if offset != 0 or reader.size != image.size or image.crc32 is None:
            return reader  # a range: no whole-data checksum to hold it against
        if isinstance(reader, LocalBlobReader) and reader.size <= VERIFY_FIRST_MAX:
            # Check first, then the server may send the file with sendfile(); a corrupt blob
            # gets a clean error instead of a broken-off body. A file checked (or written)
            # within download_verify_interval and not modified since is not read twice.
            if not reader.verified_within(image.crc32, self.conf.download_verify_interval):
                verify_crc32(reader, image.crc32, image.id)
                reader.mark_verified(image.crc32)
            return reader
        return VerifiedReader(reader, image.crc32, image.id)

    def _discard_data(self, image: Image) -> None:
        for url in image.locations:
            try:
                self.store.delete(url)
            except Exception:
                LOG.exception("could not delete the data of image %s", image.id)

    def remove(self, image: Image) -> None:
        if any(self.store.in_use(u) for u in image.locations):
            # as Glance: 409, and the image stays
            raise errors.Conflict(
                f"Image {image.id} cannot be deleted: its data is in use (it has clones)"
            )
        if self.conf.delayed_delete and image.locations and image.status == "active":
            image.schedule_delete()  # the data stays until `imgreg-manage scrub`
            self.inner.remove(image)
            return
        self.inner.remove(image)
        self._discard_data(image)
