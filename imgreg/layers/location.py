"""Location: where image data lives. Writes uploads to the store, inspecting their format on
the way (``imgreg.integrity.inspection``); records what the store reports (size, md5 ``checksum``,
``os_hash_algo``/``os_hash_value``, the blob URL) and the inspected ``virtual_size``, and
activates the image; serves data back; removes blobs when an image goes.
"""

from __future__ import annotations

import logging
from typing import Any, BinaryIO, cast

from oslo_config import cfg

from imgreg.context import RequestContext
from imgreg.domain import errors
from imgreg.domain.image import Image
from imgreg.integrity.inspection import InspectingReader, Rules
from imgreg.integrity.verify import VERIFY_FIRST_MAX, VerifiedReader, verify_crc32
from imgreg.layers.base import FactoryLayer, RepoLayer
from imgreg.store import BlobReader, CloningStore, LocalBlobReader, Store

LOG = logging.getLogger(__name__)


class LocationImageFactory(FactoryLayer):
    """New images have no data yet, so nothing to do; kept so the chain reads in full."""


class LocationImageRepo(RepoLayer):
    def __init__(self, inner: Any, ctx: RequestContext, store: Store, conf: cfg.ConfigOpts) -> None:
        super().__init__(inner, ctx)
        self.store = store
        self.conf = conf

    def upload(self, image: Image, stream: BinaryIO, size: int | None) -> Image:
        reader = InspectingReader(stream, image.disk_format or "", Rules.from_conf(self.conf))
        blob = self.store.add(image.id, cast(BinaryIO, reader), size, self.conf.hashing_algorithm)
        try:
            verdict = reader.result()  # judged inside add() when the store read to the end
        except BaseException:
            self.store.delete(blob.url)
            raise
        image.locations = [blob.url]
        image.size = blob.size
        image.checksum = blob.checksum
        image.os_hash_algo = blob.hash_algo
        image.os_hash_value = blob.hash_value
        image.crc32 = blob.crc32
        image.virtual_size = verdict.virtual_size
        image.activate()
        return image

    def check_download(self, image: Image) -> None:
        if not image.locations or image.size is None:
            raise errors.NoData(f"Image {image.id} has no data")

    def open_data(self, image: Image, offset: int = 0, length: int | None = None) -> BlobReader:
        if not image.locations:
            raise errors.NoData(f"Image {image.id} has no data")
        reader = self.store.open(image.locations[0], offset, length)
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

    def discard_data(self, image: Image) -> None:
        for url in image.locations:
            try:
                self.store.delete(url)
            except Exception:
                LOG.exception("could not delete the data of image %s", image.id)

    def remove(self, image: Image) -> None:
        store = self.store
        if isinstance(store, CloningStore) and any(store.in_use(u) for u in image.locations):
            # as Glance: 409, and the image stays
            raise errors.Conflict(
                f"Image {image.id} cannot be deleted: its data is in use (it has clones)"
            )
        if self.conf.delayed_delete and image.locations and image.status == "active":
            image.schedule_delete()  # the data stays until `imgreg-manage scrub`
            self.inner.remove(image)
            return
        self.inner.remove(image)
        self.discard_data(image)
