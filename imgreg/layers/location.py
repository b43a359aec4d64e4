"""Location: where image data lives. Writes uploads to the store, records what the store
reports (size, md5 ``checksum``, ``os_hash_algo``/``os_hash_value``, the blob URL) and activates
the image; serves data back; removes blobs when an image goes.
"""

from __future__ import annotations

import logging
from typing import Any, BinaryIO

from oslo_config import cfg

from imgreg.context import RequestContext
from imgreg.domain import errors
from imgreg.domain.image import Image
from imgreg.integrity import VerifiedReader
from imgreg.layers.base import FactoryLayer, RepoLayer
from imgreg.store import BlobReader, Store

LOG = logging.getLogger(__name__)


class LocationImageFactory(FactoryLayer):
    """New images have no data yet, so nothing to do; kept so the chain reads in full."""


class LocationImageRepo(RepoLayer):
    def __init__(self, inner: Any, ctx: RequestContext, store: Store, conf: cfg.ConfigOpts) -> None:
        super().__init__(inner, ctx)
        self.store = store
        self.conf = conf

    def upload(self, image: Image, stream: BinaryIO, size: int | None) -> Image:
        blob = self.store.add(image.id, stream, size, self.conf.hashing_algorithm)
        image.locations = [blob.url]
        image.size = blob.size
        image.checksum = blob.checksum
        image.os_hash_algo = blob.hash_algo
        image.os_hash_value = blob.hash_value
        image.crc32 = blob.crc32
        if image.disk_format == "raw":
            image.virtual_size = blob.size
        image.activate()
        return image

    def open_data(self, image: Image, offset: int = 0, length: int | None = None) -> BlobReader:
        if not image.locations:
            raise errors.NotFound(f"Image {image.id} has no data")
        reader = self.store.open(image.locations[0], offset, length)
        if offset == 0 and reader.size == image.size and image.crc32 is not None:
            return VerifiedReader(reader, image.crc32, image.id)
        return reader

    def discard_data(self, image: Image) -> None:
        for url in image.locations:
            try:
                self.store.delete(url)
            except Exception:
                LOG.exception("could not delete the data of image %s", image.id)

    def remove(self, image: Image) -> None:
        if self.conf.delayed_delete and image.locations and image.status == "active":
            image.schedule_delete()  # the data stays until `imgreg-manage scrub`
            self.inner.remove(image)
            return
        self.inner.remove(image)
        self.discard_data(image)
