"""The S3 store's error translation: S3's and the network's errors as the store's."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator, Set

import botocore.exceptions
import urllib3

from imgreg.domain import errors

LOG = logging.getLogger("imgreg.store.s3")  # the store's log

FULL = {"EntityTooLarge", "QuotaExceeded", "XMinioStorageFull", "InsufficientStorage"}


def code(exc: botocore.exceptions.ClientError) -> str:
    """The S3 error code of ``exc`` ("" when it has none)."""
    error: str = exc.response.get("Error", {}).get("Code", "")
    return error


@contextlib.contextmanager
def translated(
    what: str, passing: Set[str] = frozenset(), ignoring: Set[str] = frozenset()
) -> Iterator[None]:
    """S3's and the network's errors as the store's: a quota, a full disk or an object larger
    than S3 takes mean full; anything else is logged here and reported without URLs or keys.
    S3 error codes in ``passing`` are left to the caller, those in ``ignoring`` are no error."""
    try:
        yield
    except botocore.exceptions.ClientError as exc:
        error = code(exc)
        if error in ignoring:
            return
        if error in passing:
            raise
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        if error in FULL or status == 507:
            raise errors.StoreFull("Image storage media is full") from None
        LOG.warning("s3: could not %s: %s", what, exc)
        raise errors.StoreError(f"The image store failed to {what}") from None
    except (botocore.exceptions.BotoCoreError, OSError, urllib3.exceptions.HTTPError) as exc:
        LOG.warning("s3: could not %s: %s", what, exc)
        raise errors.StoreError(f"The image store failed to {what}") from None
