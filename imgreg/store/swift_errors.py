"""The Swift store's error translation: Swift's and the network's errors as the store's
(``imgreg.store.swift``)."""

from __future__ import annotations

import contextlib
import http.client
import logging
from collections.abc import Iterator

import urllib3
from requests import RequestException
from swiftclient import ClientException

from imgreg.domain import errors

LOG = logging.getLogger("imgreg.store.swift")  # the store's log


@contextlib.contextmanager
def translated(what: str, passing: tuple[int, ...] = ()) -> Iterator[None]:
    """Swift's and the network's errors as the store's: 413 (a quota) and 507 mean full;
    anything else is logged here and reported without URLs or credentials. Responses with a
    status in ``passing`` are left to the caller."""
    try:
        yield
    except ClientException as exc:
        if exc.http_status in passing:
            raise
        if exc.http_status in (413, 507):
            raise errors.StoreFull("Image storage media is full") from None
        LOG.warning("swift: could not %s: %s", what, exc)
        raise errors.StoreError(f"The image store failed to {what}") from None
    except (
        RequestException,
        OSError,
        urllib3.exceptions.HTTPError,
        http.client.HTTPException,
    ) as exc:
        LOG.warning("swift: could not %s: %s", what, exc)
        raise errors.StoreError(f"The image store failed to {what}") from None
