"""Glance's rules for an image's locations, without the stores.

What a location a caller sends must look like (``parse_location``, ``parse_validation``), where
a PATCH may put or take one (``position``), how many an image may have (``check_quota``), and
how a location's ``validation_data`` seeds a queued image's hashes (``seed_values``). Whether a
URL names data this image may have is the stores' question (``imgreg.store.location_url``).
"""

from __future__ import annotations

import dataclasses
import hashlib
import string
from typing import Any

from imgreg.domain import errors
from imgreg.domain.image import Image

MAX_URL = 255  # the image schema's maxLength of a location's url (Glance's)
# The algorithms POST /v2/images/{id}/locations accepts (Glance's schema enum).
ADD_ALGOS = ("md5", "sha1", "sha256", "sha512")
LOCATION_KEYS = frozenset({"url", "metadata", "validation_data"})
PATCH_VALIDATION_KEYS = frozenset({"checksum", "os_hash_algo", "os_hash_value"})
ADD_VALIDATION_KEYS = frozenset({"os_hash_algo", "os_hash_value"})
HEX = frozenset(string.hexdigits)


@dataclasses.dataclass(frozen=True)
class NewLocation:
    """A location as a caller gave it: its URL, metadata and validation data (maybe empty)."""

    url: str
    metadata: dict[str, Any]
    validation: dict[str, str]


def check_url(url: Any) -> str:
    """A location URL must be a non-empty string of printable ASCII, at most 255 long."""
    if not isinstance(url, str) or not url:
        raise errors.Invalid("Invalid location: 'url' must be a non-empty string.")
    if len(url) > MAX_URL:
        raise errors.Invalid(f"Invalid location: 'url' is longer than {MAX_URL} characters.")
    if not url.isascii() or not url.isprintable() or any(c.isspace() for c in url):
        raise errors.Invalid("Invalid location: 'url' must be printable ASCII, without spaces.")
    return url


def parse_location(value: Any) -> NewLocation:
    """One location of a PATCH: ``{"url", "metadata", "validation_data"?}`` and nothing else
    (400 otherwise)."""
    if not isinstance(value, dict):
        raise errors.Invalid("Invalid location: it must be an object with 'url' and 'metadata'.")
    extra = set(value) - LOCATION_KEYS
    if extra:
        raise errors.Invalid(
            f"Invalid location: unexpected member(s) {', '.join(sorted(extra))[:128]}."
        )
    if "url" not in value or "metadata" not in value:
        raise errors.Invalid("Invalid location: 'url' and 'metadata' are required.")
    metadata = value["metadata"]
    if not isinstance(metadata, dict):
        raise errors.Invalid("Invalid location: 'metadata' must be an object.")
    validation = parse_validation(value.get("validation_data"), patch=True)
    return NewLocation(check_url(value["url"]), dict(metadata), validation)


def parse_validation(data: Any, patch: bool) -> dict[str, str]:
    """``validation_data`` checked as Glance's schemas have it (400). In a PATCH (the image
    schema): ``os_hash_algo`` and ``os_hash_value`` both required, ``checksum`` optional (32
    characters). In POST /locations: both or neither, ``os_hash_algo`` one of ``ADD_ALGOS``,
    and the value hex of that algorithm's length. ``None`` and ``{}`` are no data."""
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise errors.Invalid("Invalid validation_data: it must be an object.")
    allowed = PATCH_VALIDATION_KEYS if patch else ADD_VALIDATION_KEYS
    extra = set(data) - allowed
    if extra:
        raise errors.Invalid(
            f"Invalid validation_data: unexpected member(s) {', '.join(sorted(extra))[:128]}."
        )
    if not all(isinstance(v, str) for v in data.values()):
        raise errors.Invalid("Invalid validation_data: its values must be strings.")
    have = set(data) & ADD_VALIDATION_KEYS
    if (patch and have != ADD_VALIDATION_KEYS) or (not patch and have and len(have) != 2):
        raise errors.Invalid(
            "Invalid validation_data: 'os_hash_algo' and 'os_hash_value' go together."
        )
    if len(data.get("os_hash_algo", "")) > 64 or len(data.get("os_hash_value", "")) > 128:
        raise errors.Invalid("Invalid validation_data: a value is too long.")
    if "checksum" in data and len(data["checksum"]) != 32:
        raise errors.Invalid("Invalid validation_data: 'checksum' must be 32 characters long.")
    if not patch and data:
        if data["os_hash_algo"] not in ADD_ALGOS:
            raise errors.Invalid(
                f"Invalid validation_data: 'os_hash_algo' must be one of {', '.join(ADD_ALGOS)}."
            )
        check_digest("os_hash_value", data["os_hash_value"], data["os_hash_algo"], errors.Invalid)
    return dict(data)


def check_digest(name: str, value: str, algo: str, error: type[errors.ImgregError]) -> None:
    """``value`` must be the hex digest of ``algo`` (its length too)."""
    if not value or not set(value) <= HEX:
        raise error(f"{name} ({value[:128]}) is not a valid hexadecimal value")
    want = hashlib.new(algo).digest_size
    if len(value) != 2 * want:
        raise error(
            f"{name} ({value[:128]}) is not the correct size for {algo} (should be {want} bytes)"
        )


def seed_values(
    image: Image, locations: list[NewLocation], hashing_algorithm: str
) -> dict[str, str]:
    """What the locations' validation data sets on ``image`` (Glance's rules, 409 each):
    locations may not disagree with each other or with values the image has; new values only
    for a ``queued`` image, ``os_hash_algo`` must be the configured algorithm, and each value a
    digest of the right size."""
    given: dict[str, str] = {}
    for location in locations:
        for key, value in location.validation.items():
            if given.get(key, value) != value:
                raise errors.Conflict(f"Conflicting values for {key}")
            given[key] = value
    new: dict[str, str] = {}
    for key, value in given.items():
        current = getattr(image, key)
        if value == current:
            continue
        if current:
            raise errors.Conflict(f"{key} is already set with a different value")
        new[key] = value
    if not new:
        return {}
    if image.status != "queued":
        raise errors.Conflict(
            f"New value(s) for {', '.join(sorted(new))} may only be provided when image status "
            "is 'queued'"
        )
    if "checksum" in new:
        check_digest("checksum", new["checksum"], "md5", errors.Conflict)
    algo = new.get("os_hash_algo")
    if algo != hashing_algorithm:
        raise errors.Conflict(f"os_hash_algo must be {hashing_algorithm}, not {algo}")
    check_digest("os_hash_value", new.get("os_hash_value", ""), algo, errors.Conflict)
    return new


def position(segment: str | None, count: int, adding: bool) -> int:
    """The index ``/locations/<segment>`` names: a number, or ``-`` (the end when adding, the
    last when removing); 400 for anything else or out of range."""
    what = "adding" if adding else "removing"
    pos = count if adding else count - 1
    if segment is not None and segment.isdigit() and segment.isascii() and len(segment) < 10:
        pos = int(segment)
    elif segment != "-":
        raise errors.Invalid(f"Invalid position for {what} a location.")
    if (adding and pos > count) or (not adding and not 0 <= pos < count):
        raise errors.Invalid(f"Invalid position for {what} a location.")
    return pos


def check_quota(image: Image, quota: int) -> None:
    """``image_location_quota`` (-1: no limit): 413 beyond it."""
    if 0 <= quota < len(image.locations):
        raise errors.QuotaExceeded(
            "The limit has been exceeded on the number of allowed image locations. "
            f"Attempted: {len(image.locations)}, Maximum: {quota}"
        )
