"""``DataUpload``: one upload of image data, the session the location layer opens over the
database's ``UploadLedger`` (``ImageRepo.begin_upload``). The layers checked the start once;
none of them sees the bytes, which go:

    client stream → lease renewal → size cap and storage reservation → format inspection
    → the digests the store does not compute (``Repr-Digest``'s, sha-256), on a thread
    → the store (which hashes, writes a partial blob, fsyncs and renames it into place)
    → the client's digests checked (``imgreg.integrity.expected``): a mismatch is 400

* The lease (``upload_lease_seconds``) is renewed at most every third of it while data
  arrives, and always at the end of the data, before the blob is renamed into place. An
  upload whose renewal fails stops: deleted meanwhile 410, taken back by the reaper 409.
* ``size_cap`` and ``storage_quota`` come from ``UploadTerms``. A declared size is checked and
  reserved whole before any byte is read; an undeclared (chunked) stream reserves
  ``RESERVE_STEP`` bytes ahead of its data and is cut off when the quota has no room left.
  Reservations are taken under a per-owner lock in the database (``imgreg.db.usage``), so
  parallel uploads on any number of workers never store more than the quota.
* ``commit`` saves the image active (a stage: still ``uploading``, its lease dropped);
  ``abort`` puts it back to ``queued`` and deletes the blob.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import BinaryIO, cast

from oslo_config import cfg

from imgreg.domain import errors
from imgreg.domain.image import Image
from imgreg.domain.ports import UploadLedger, UploadTerms
from imgreg.integrity import expected
from imgreg.integrity.expected import DigestingReader
from imgreg.integrity.inspection import InspectingReader, Rules
from imgreg.store.registry import Stores

LOG = logging.getLogger(__name__)
RESERVE_STEP = 64 * 1024 * 1024  # how far an undeclared stream reserves ahead of its data


def gone(image_id: str) -> errors.Gone:
    return errors.Gone(
        f"Image {image_id} could not be found after upload. The image may have been deleted "
        "during the upload; its data was removed."
    )


def lease_keeper(ledger: UploadLedger) -> Callable[[], None]:
    """``ledger.renew`` with its failures said as the client should hear them."""
    image_id = ledger.image.id

    def renew() -> None:
        try:
            ledger.renew()
        except errors.NotFound:
            raise gone(image_id) from None
        except errors.StaleState:
            raise errors.Conflict(
                f"The upload to image {image_id} lost its lease (it was silent for longer "
                "than the lease) and was abandoned; upload the data again."
            ) from None

    return renew


class LeasedStream:
    """Renews the upload lease (``renew()``) at most every ``interval`` seconds while data
    is read, and always when the data ends, so the blob is renamed into place only while
    the lease is held."""

    def __init__(self, stream: BinaryIO, renew: Callable[[], None], interval: float) -> None:
        self.stream = stream
        self.renew = renew
        self.interval = interval
        self.renewed = time.monotonic()

    def read(self, size: int = -1) -> bytes:
        data = self.stream.read(size)
        now = time.monotonic()
        if not data or now - self.renewed >= self.interval:
            self.renew()
            self.renewed = now
        return data


class Reservation:
    """The storage quota reserved for one upload; ``cover(n)`` makes sure the first ``n``
    bytes are reserved, reserving up to ``ahead`` more (or what remains) while at it."""

    def __init__(self, ledger: UploadLedger, quota: int) -> None:
        self.ledger = ledger
        self.quota = quota
        self.held = ledger.carried  # a resumable session's hold, taken over

    def cover(self, total: int, ahead: int = 0) -> None:
        if total <= self.held:
            return
        needed = total - self.held
        granted, remaining = self.ledger.reserve(needed, needed + ahead, self.quota)
        if not granted:  # what remained for this image: what it holds and what is left
            raise errors.QuotaExceeded(
                "Image exceeds the storage quota: The size of the data will exceed the "
                f"limit. {self.held + remaining} bytes remaining."
            )
        self.held += granted


class LimitingReader:
    """A file-like wrapper that raises ``error`` once more than ``limit`` bytes were read and,
    given a ``reservation``, has every byte reserved before handing it on."""

    def __init__(
        self,
        stream: BinaryIO | LeasedStream,
        limit: int,
        error: errors.ImgregError,
        reservation: Reservation | None = None,
    ) -> None:
        self.stream = stream
        self.limit = limit
        self.error = error
        self.reservation = reservation
        self.count = 0

    def read(self, size: int = -1) -> bytes:
        if size < 0 or size > self.limit - self.count + 1:
            size = self.limit - self.count + 1  # one byte more than allowed reveals an overrun
        data = self.stream.read(size)
        self.count += len(data)
        if self.count > self.limit:
            raise self.error
        if self.reservation is not None:
            self.reservation.cover(self.count, RESERVE_STEP)
        return data


class DataUpload:
    """The ``UploadSession`` of the location layer: the bytes to ``store``, the records to
    ``ledger``."""

    def __init__(
        self, ledger: UploadLedger, store: Stores, terms: UploadTerms, conf: cfg.ConfigOpts
    ) -> None:
        self.ledger = ledger
        self.store = store
        self.terms = terms
        self.conf = conf
        self.image = ledger.image
        self.blob_url: str | None = None

    def _limited(self, stream: BinaryIO, size: int | None) -> LimitingReader:
        cap = self.terms.size_cap if self.terms.size_cap is not None else 1 << 62
        too_large = errors.QuotaExceeded("The incoming image is too large")
        if size is not None and size > cap:
            raise too_large
        reservation = None
        if self.terms.storage_quota > 0:
            reservation = Reservation(self.ledger, self.terms.storage_quota)
            if size is not None:
                reservation.cover(size)  # all of it, before the first byte is read
        interval = self.conf.upload_lease_seconds / 3
        leased = LeasedStream(stream, lease_keeper(self.ledger), interval)
        return LimitingReader(leased, cap, too_large, reservation)

    def write(self, stream: BinaryIO, size: int | None) -> Image:
        image = self.image
        limited = self._limited(stream, size)
        # A stage may come before the formats are set: nothing is claimed, so the data is
        # held to the safety checks only, as raw (the import needs the formats, and they
        # cannot change once staged).
        algo = self.conf.hashing_algorithm
        digesting = DigestingReader(limited, self._side_hashes(algo))
        reader = InspectingReader(
            cast(BinaryIO, digesting), image.disk_format or "raw", Rules.from_conf(self.conf)
        )
        stores = self.store
        store_id = self.terms.store or stores.default_id
        try:
            blob = stores.add_to(store_id, image.id, cast(BinaryIO, reader), size, algo)
            self.blob_url = blob.url
            verdict = reader.result()  # judged inside add() when the store read to the end
            computed = {blob.hash_algo: bytes.fromhex(blob.hash_value), **digesting.digests()}
            expected.check(self.terms.digests, computed)
        except BaseException:
            self._discard()
            raise
        finally:
            digesting.close()
        image.locations = [blob.url]
        image.location_metadata = {blob.url: {"store": store_id}} if stores.multiple else {}
        image.size = blob.size
        image.checksum = blob.checksum
        image.os_hash_algo = blob.hash_algo
        image.os_hash_value = blob.hash_value
        image.crc32 = blob.crc32
        sha256 = computed.get("sha256")
        image.data_sha256 = sha256.hex() if sha256 is not None and algo != "sha256" else None
        image.virtual_size = verdict.virtual_size
        if image.status != "uploading":  # a stage's data waits for its import
            image.activate()
        return image

    def _side_hashes(self, algo: str) -> list[str]:
        """What is hashed beside the store's digests: the algorithms the client's
        ``Repr-Digest`` names, and sha-256 for downloads' (``upload_sha256``)."""
        wanted = {a for a, _ in self.terms.digests}
        if self.conf.upload_sha256:
            wanted.add("sha256")
        wanted.discard(algo)  # the store hashes that one already
        return sorted(wanted)

    def renew(self) -> None:
        lease_keeper(self.ledger)()

    def adopt(self) -> Image:
        """An import of staged data (``glance-direct``) with nothing to change in it: the
        blob the stage wrote becomes the image's data as it is, no copy; an abort deletes
        it, as one of ``write``'s."""
        if not self.image.locations:
            raise errors.Conflict(f"Image {self.image.id} has no staged data to import")
        self.blob_url = self.image.locations[0]
        self.image.activate()
        return self.image

    def commit(self) -> Image:
        try:
            self.image = self.ledger.commit(self.image)
        except (errors.NotFound, errors.StaleState):
            raise gone(self.image.id) from None
        self.blob_url = None  # the image holds it now
        return self.image

    def abort(self) -> Image | None:
        """Back to ``queued`` (if still ``saving``) and no blob left, whatever failed."""
        restored = None
        try:
            restored = self.ledger.abort()
        except errors.ImgregError as exc:
            LOG.info("image %s not returned to queued: %s", self.image.id, exc.message)
        except Exception:
            LOG.exception("image %s not returned to queued", self.image.id)
        self._discard()
        return restored

    def _discard(self) -> None:
        if self.blob_url is not None:
            try:
                self.store.delete(self.blob_url)
            except Exception:
                LOG.exception("could not delete the data of image %s", self.image.id)
            self.blob_url = None
