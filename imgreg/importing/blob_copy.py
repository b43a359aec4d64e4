"""One image's data copied from one store into another (``copy_blob``): for copy-image
(``imgreg.importing.copy``) and for an import to several stores (``imgreg.importing.flow``).

The data is read from the image's copies in read order (``imgreg.layers.copies``), falling back
to the next copy when a store fails, and written to the target store under the image's name (the
store writes a partial blob and renames it into place); size, md5 and ``os_hash_value`` are
checked against the image's before it counts: a copy that differs is deleted.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import BinaryIO, cast

from imgreg.domain import errors
from imgreg.domain.image import Image
from imgreg.domain.ports import BlobReader
from imgreg.layers.copies import read_order
from imgreg.services import Services

LOG = logging.getLogger(__name__)


class ReaderStream:
    """A ``BlobReader`` (blocks) as the file-like stream a store's ``add`` reads."""

    def __init__(self, reader: BlobReader) -> None:
        self.blocks: Iterator[bytes] = iter(reader)
        self.pending = b""

    def read(self, size: int = -1) -> bytes:
        while not self.pending:
            block = next(self.blocks, None)
            if block is None:
                return b""
            self.pending = block
        if size < 0 or size >= len(self.pending):
            data, self.pending = self.pending, b""
        else:
            data, self.pending = self.pending[:size], self.pending[size:]
        return data


def copy_blob(svc: Services, image: Image, store_id: str) -> str:
    """Write the image's data into ``store_id`` from its first readable copy; the new blob's
    URL. Raises (leaving nothing in ``store_id``) if no copy can be read or the copy differs."""
    stores = svc.store
    sources = [u for u in read_order(stores, image) if image.store_of(u) != store_id]
    if not sources:
        raise errors.Conflict(f"Image {image.id} has no data to copy")
    algo = image.os_hash_algo or svc.conf.hashing_algorithm
    failure: errors.ImgregError | None = None
    for url in sources:
        try:
            reader = stores.open(url)
            try:
                stream = cast(BinaryIO, ReaderStream(reader))
                blob = stores.add_to(store_id, image.id, stream, image.size, algo)
            finally:
                reader.close()
        except (errors.NotFound, errors.StoreError, errors.Invalid) as exc:
            LOG.warning("image %s: copy from %s to %s failed: %s", image.id, url, store_id, exc)
            failure = exc
            continue
        same = (blob.size, blob.checksum, blob.hash_value)
        if same != (image.size, image.checksum, image.os_hash_value or blob.hash_value):
            stores.delete(blob.url)
            raise errors.StoreError(f"The copy of image {image.id} in {store_id} differs")
        return blob.url
    assert failure is not None
    raise failure
