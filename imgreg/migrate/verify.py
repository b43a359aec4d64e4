"""``--verify``: every imported location read back in full and held against the image's size,
md5 ``checksum`` and ``os_hash_value``. A location whose data is missing or differs is reported
(the image is imported all the same, as Glance had it: an operator decides)."""

from __future__ import annotations

import hashlib
from urllib.parse import urlsplit, urlunsplit

from imgreg.domain import errors
from imgreg.migrate.convert import Record
from imgreg.store.registry import Stores


def shown(url: str) -> str:
    """``url`` without the credentials a swift or s3 URL may carry (``user:key@``)."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc="***@" + parts.netloc.rpartition("@")[2]))


def check(stores: Stores, record: Record) -> list[tuple[str, str]]:
    image = record.image
    problems = []
    for location, _meta in record.locations:
        url = shown(location)
        found = _read(stores, location, image["os_hash_algo"])
        what = f"data of image {image['id']}"
        if found is None:
            problems.append((what, f"missing at {url}"))
            continue
        size, md5, digest = found
        if image["size"] is not None and size != image["size"]:
            problems.append((what, f"{size} bytes at {url}, Glance says {image['size']}"))
        elif image["checksum"] and md5 != image["checksum"]:
            problems.append((what, f"md5 of {url} differs from Glance's checksum"))
        elif image["os_hash_value"] and digest != image["os_hash_value"]:
            problems.append((what, f"{image['os_hash_algo']} of {url} differs from os_hash_value"))
    return problems


def _read(stores: Stores, url: str, algo: str | None) -> tuple[int, str, str | None] | None:
    try:
        reader = stores.open(url)
    except errors.ImgregError:
        return None
    md5 = hashlib.md5(usedforsecurity=False)
    try:
        hasher = hashlib.new(algo) if algo else None
    except ValueError:
        hasher = None
    size = 0
    try:
        for chunk in reader:
            size += len(chunk)
            md5.update(chunk)
            if hasher is not None:
                hasher.update(chunk)
    except errors.ImgregError:
        return None
    finally:
        reader.close()
    return size, md5.hexdigest(), hasher.hexdigest() if hasher else None
