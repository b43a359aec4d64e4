"""``imgreg-manage check``: the invariants that hold between the database and the store once
the reaper (``imgreg.maintenance.recovery``) has run. ``check`` returns one line per violation:

1. every active (or deactivated) image has one location (with several stores: at least one,
   at most one per store), and each blob exists and has the row's size, md5 ``checksum``,
   ``os_hash_value`` (in the row's ``os_hash_algo``) and CRC-32: all of the data is read back;
2. a ``queued`` image holds no data (no size, checksums or locations);
3. every blob in the store is owned by a row, or by an upload that holds its lease;
4. no partial file is older than the upload lease, except one of an upload holding its lease;
5. no image is ``saving`` (``uploading``, ``importing``) past its upload lease, and no
   active image holds a copy lease that expired.

Rows are read before the store is listed for (1), and after it for (3), so uploads and deletes
running meanwhile do not show up as violations.
"""

from __future__ import annotations

import hashlib
import time

from imgreg.db import copies, maintenance
from imgreg.db.maintenance import DataRow
from imgreg.domain import errors
from imgreg.domain.image import utcnow
from imgreg.integrity.crc import crc32
from imgreg.maintenance.recovery import blob_image_id
from imgreg.services import Services
from imgreg.store import Store
from imgreg.store.registry import Stores


def check(svc: Services) -> list[str]:
    problems: list[str] = []
    rows = maintenance.images_with_data(svc.db)
    blobs = set(svc.store.list_blobs())
    partials = svc.store.list_partials()
    for row in rows:
        problems += _check_row(svc.store, row, blobs)
    owned = maintenance.owned_urls(svc.db)
    live = maintenance.live_uploads(svc.db, utcnow())
    problems += [
        f"blob {url}: no image owns it"
        for url in sorted(blobs)
        if url not in owned and blob_image_id(url) not in live
    ]
    stale = time.time() - svc.conf.upload_lease_seconds
    problems += [
        f"partial file {p.name}: older than the upload lease"
        for p in partials
        if p.modified < stale and p.image_id not in live
    ]
    problems += [
        f"image {image_id}: {status} past its upload lease"
        for image_id, status in maintenance.expired_holds(svc.db, utcnow())
    ]
    problems += [
        f"image {image_id}: active, its copy to other stores past its lease"
        for image_id in copies.expired(svc.db, utcnow())
    ]
    return problems


def _check_row(store: Stores, row: DataRow, blobs: set[str]) -> list[str]:
    if row.status == "queued":
        # a failed location import leaves a read-only (http) location, as in Glance
        kept = [url for url in row.locations if not _read_only(store, url)]
        data = [row.size, row.checksum, row.os_hash_value, row.crc32, row.data_sha256, *kept]
        if any(value is not None for value in data):
            return [f"image {row.id}: queued but holds data (size, checksums or a location)"]
        return []
    problems = _count_locations(store, row)
    if problems:
        return problems
    for url in row.locations:
        if url not in blobs and not _read_only(store, url):
            problems.append(f"image {row.id}: {row.status} but its blob {url} is missing")
            continue
        found = _verify(store, row, url)
        problems += [f"image {row.id}: {'; '.join(found)}"] if found else []
    return problems


def _read_only(stores: Stores, url: str) -> bool:
    """A location in a read-only (http) store: anyone's data, listed by no store."""
    try:
        return stores.read_only(stores.resolve(url)[0])
    except errors.NotFound:
        return False


def _count_locations(stores: Stores, row: DataRow) -> list[str]:
    """One location (one store), or at least one and at most one per store (several)."""
    count = len(row.locations)
    if not stores.multiple:
        return [] if count == 1 else [f"image {row.id}: {row.status} with {count} locations, not 1"]
    if count == 0:
        return [f"image {row.id}: {row.status} with no location"]
    owners = []
    for url in row.locations:
        try:
            store_id = stores.resolve(url)[0]
        except errors.NotFound:
            store_id = url
        owners.append(url if stores.read_only(store_id) else store_id)  # http: any number
    if len(set(owners)) != count:
        return [f"image {row.id}: {row.status} with two copies in one store"]
    return []


def _verify(store: Store, row: DataRow, url: str) -> list[str]:
    """Read the whole blob back and compare it with what the row recorded. A location added
    without validation data (legacy PATCH, as in Glance) leaves the hashes unset: then only
    the size is held against the row."""
    try:
        algo = hashlib.new(row.os_hash_algo or "sha512")
    except ValueError:
        return [f"unknown os_hash_algo {row.os_hash_algo!r}"]
    md5 = hashlib.md5(usedforsecurity=False)
    sha256 = hashlib.sha256() if row.data_sha256 is not None else None
    crc, size = 0, 0
    reader = store.open(url)
    try:
        for chunk in reader:
            size += len(chunk)
            md5.update(chunk)
            algo.update(chunk)
            if sha256 is not None:
                sha256.update(chunk)
            crc = crc32(chunk, crc)
    finally:
        reader.close()
    found = []
    if size != row.size:
        found.append(f"blob has {size} bytes, the row says {row.size}")
    if row.checksum is not None and md5.hexdigest() != row.checksum:
        found.append("blob md5 does not match checksum")
    if row.os_hash_value is not None and algo.hexdigest() != row.os_hash_value:
        found.append(f"blob {row.os_hash_algo} does not match os_hash_value")
    if row.crc32 is not None and crc != row.crc32:
        found.append("blob CRC-32 does not match")
    if sha256 is not None and sha256.hexdigest() != row.data_sha256:
        found.append("blob sha-256 does not match data_sha256")
    return found
