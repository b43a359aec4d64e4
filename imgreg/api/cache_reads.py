"""Downloads through this node's image cache (``[DEFAULT] image_cache_dir``).

The download controller has already done everything a download does first (the image read
through the chain, so visibility; deactivated refused; ``download_image`` checked, and data
present): the cache only changes where the bytes come from, never who gets them
(OSSA-2013-027). Only active images are read from or into it, and not when the caller named
stores to read from (``download_from_store``: that read goes to those stores).

* a hit (a verified copy) is served from the local file, ranges included;
* a whole download on a miss streams from the store to the client and into a fill
  (``imgreg.cache.read_through``); a concurrent one waits for that fill and is then served
  the copy (``imgreg.cache.cache``);
* a range on a miss reads the store, as without a cache.

A request for an image that is gone (deleted here or on another node) evicts this node's copy:
the copy is looked up with an administrator's context, so that an image the caller merely
cannot see is not evicted on their say.
"""

from __future__ import annotations

import logging
import uuid

from imgreg.cache.cache import FILL_WAIT, ImageCache
from imgreg.cache.fill import Fill
from imgreg.cache.read_through import ReadThrough
from imgreg.context import RequestContext
from imgreg.domain import errors
from imgreg.domain.image import Image
from imgreg.domain.ports import BlobReader, ImageRepo
from imgreg.layers import build_image_repo
from imgreg.services import Services

LOG = logging.getLogger(__name__)


def admin_context(request_id: str) -> RequestContext:
    return RequestContext(request_id, roles=["admin", "member", "reader"], is_admin=True)


def open_cached(
    svc: Services,
    repo: ImageRepo,
    image: Image,
    span: tuple[int, int] | None,
    prefer: tuple[str, ...],
) -> BlobReader | None:
    """The download's reader when the cache has a part in it; None: read the store as usual."""
    cache = svc.cache
    if cache is None or prefer or image.status != "active":
        return None
    try:
        found = cache.open_hit(image, span)
        if found is not None or span is not None:
            return found
        started = cache.begin_fill(image, wait=FILL_WAIT)
    except Exception:  # a broken cache (its disk, its catalog) never fails a download
        LOG.exception("image %s: the image cache failed; reading the store", image.id)
        return None
    if not isinstance(started, Fill):
        return started  # a hit (the fill we waited for), or None: the store, unfilled
    try:
        reader = repo.open_data(image)
    except BaseException:
        started.abandon()
        raise
    return ReadThrough(reader, started)


def forget_if_gone(svc: Services, image_id: str, request_id: str) -> None:
    """Evict the copy of ``image_id`` if the image no longer exists."""
    cache = svc.cache
    if cache is None:
        return
    try:
        canonical = str(uuid.UUID(image_id))
    except ValueError:
        return
    try:
        if not cache.cached(canonical):
            return
        build_image_repo(admin_context(request_id), svc).get(canonical)
    except errors.NotFound:
        evict(cache, canonical)
    except Exception:  # the answer stays the 404; the copy goes at a later request
        LOG.exception("image %s: could not check the cached copy", canonical)


def evict(cache: ImageCache | None, image_id: str) -> None:
    """Drop this node's copy of ``image_id``, if any; a broken cache only logs."""
    if cache is None:
        return
    try:
        cache.delete(image_id)
    except Exception:
        LOG.exception("image %s: could not evict the cached copy", image_id)
