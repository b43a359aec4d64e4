"""The http store (Glance's ``http`` type): read-only, for image data that stays on a web
server and is known to imgreg only by a location ``http(s)://...`` that a caller added.

Every URL passes ``[import_filtering_opts]`` (schemes, hosts, ports, no private or link-local
address unless ``allow_private_addresses``; each redirect checked again) when it is accepted as
a location and again on every read, so a location can never make imgreg fetch from the
metadata service or the local network (OSSN-0065). Nothing is ever written or deleted there:
an image that goes leaves the web server's file alone.

A fragment (``#...``) is part of a location's name, not of what is fetched (HTTP never sends
it): callers add one URL several times as distinct locations that way, as tempest does. The
filter sees, and the store fetches, the URL without it.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Iterator
from typing import Any, BinaryIO

from imgreg.domain import errors
from imgreg.importing.web import FetchFailed, WebSource, check_uri, open_uri
from imgreg.store import PartialFile, StoredBlob, register

SCHEMES = ("http://", "https://")
BLOCK = 1 << 20
REFUSED = "URI for the http store does not pass filtering: "  # Glance's words, tempest reads


class HttpReader:
    """``size`` bytes of a fetched body, from ``skip`` bytes in (a server that ignored the
    Range header sends the whole body)."""

    def __init__(self, source: WebSource, skip: int, size: int) -> None:
        self.source = source
        self.skip = skip
        self.size = size

    def __iter__(self) -> Iterator[bytes]:
        try:
            while self.skip > 0:
                chunk = self.source.read(min(BLOCK, self.skip))
                if not chunk:
                    raise errors.StoreError("Image data is shorter than recorded")
                self.skip -= len(chunk)
            remaining = self.size
            while remaining > 0:
                chunk = self.source.read(min(BLOCK, remaining))
                if not chunk:
                    raise errors.StoreError("Image data is shorter than recorded")
                remaining -= len(chunk)
                yield chunk
        except FetchFailed as exc:
            raise errors.StoreError(exc.message) from exc

    def close(self) -> None:
        self.source.close()


def _fetched(url: str) -> str:
    return urllib.parse.urldefrag(url).url


@register("http")
class HttpStore:
    read_only = True

    def __init__(self, conf: Any) -> None:
        self.conf = conf  # whole: [import_filtering_opts] is the filter

    def blob_id(self, url: str) -> str:
        """An http store has no blob names: a URL that passes the filter is its own."""
        if not url.startswith(SCHEMES):
            raise errors.NotFound("Image data not found")
        try:
            check_uri(_fetched(url), self.conf)
        except errors.Invalid as exc:
            raise errors.NotFound(REFUSED + exc.message) from None
        return url

    def add(
        self, image_id: str, stream: BinaryIO, expected_size: int | None, hash_algo: str
    ) -> StoredBlob:
        raise errors.Invalid("The http store is read-only: no data can be written to it")

    def open(self, url: str, offset: int = 0, length: int | None = None) -> HttpReader:
        headers = {"Range": f"bytes={offset}-"} if offset else {}
        try:
            source = open_uri(_fetched(url), self.conf, headers=headers, refused=REFUSED)
        except FetchFailed as exc:
            raise errors.StoreError(exc.message) from exc
        except errors.Invalid as exc:
            raise errors.NotFound(exc.message) from None
        ranged = source.status == 206
        if source.size is None:
            source.close()
            raise errors.StoreError("The http store's server sent no Content-Length")
        available = source.size if ranged else source.size - offset
        if available < 0:
            source.close()
            raise errors.StoreError("Image data is shorter than recorded")
        size = available if length is None else min(length, available)
        return HttpReader(source, 0 if ranged else offset, size)

    def delete(self, url: str) -> None:
        """Read-only: the data is the web server's, and stays."""

    def list_blobs(self) -> list[str]:
        return []

    def list_partials(self) -> list[PartialFile]:
        return []

    def delete_partial(self, name: str) -> None:
        """An http store never has partial files."""

    def check(self) -> None:
        """Nothing to check: there is no one server behind the store."""
