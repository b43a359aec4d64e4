"""The image cache's upkeep: the prefetcher (fills queued images) and the pruner, run by
``imgreg-manage cache`` and, every ``image_cache_period`` seconds, by a daemon thread in each
server process that has a cache (``image_cache_dir``).

The cache is per node, so there is no cluster lock: the workers of a node share its cache and
the fill lock keeps them from filling one image twice; a prune that races another removes
nothing twice. The prefetcher reads images as an administrator (an operator queued them) but
only active ones: a queued image that is gone or not active is dropped from the queue; one
whose read fails stays queued for the next run.
"""

from __future__ import annotations

import dataclasses
import logging
import uuid
from collections.abc import Callable

from oslo_config import cfg

from imgreg.cache.cache import ImageCache
from imgreg.cache.fill import Fill
from imgreg.context import RequestContext
from imgreg.domain import errors
from imgreg.domain.ports import ImageRepo
from imgreg.layers import build_image_repo
from imgreg.maintenance.periodic import PeriodicThread, Slot
from imgreg.services import Services

LOG = logging.getLogger(__name__)


@dataclasses.dataclass
class Prefetched:
    cached: list[str] = dataclasses.field(default_factory=list)
    dropped: list[str] = dataclasses.field(default_factory=list)
    failed: list[str] = dataclasses.field(default_factory=list)


def admin_repo(svc: Services) -> ImageRepo:
    """The image chain as an administrator sees it (the operator's own tools)."""
    ctx = RequestContext(f"req-{uuid.uuid4()}", roles=["admin", "member", "reader"], is_admin=True)
    return build_image_repo(ctx, svc)


def prefetch(svc: Services, cache: ImageCache) -> Prefetched:
    done = Prefetched()
    repo = admin_repo(svc)
    for image_id in cache.queued():
        try:
            image = repo.get(image_id)
        except errors.NotFound:
            image = None
        if image is None or image.status != "active":
            cache.unqueue(image_id)
            done.dropped.append(image_id)
            continue
        if cache.cached(image_id):
            cache.unqueue(image_id)
            continue
        started = cache.begin_fill(image)
        if not isinstance(started, Fill):
            if started is None:
                continue  # another process fills it now (or it cannot be cached)
            started.close()  # cached meanwhile
            continue
        try:
            reader = repo.open_data(image)
            try:
                for chunk in reader:
                    started.write(chunk)
            finally:
                reader.close()
        except Exception as exc:
            LOG.warning("prefetch of image %s failed: %s", image_id, exc)
            started.abandon()
            done.failed.append(image_id)
            continue
        (done.cached if started.finish() else done.failed).append(image_id)
    return done


def upkeep(svc: Services) -> None:
    """One round: prefetch, then prune."""
    cache = svc.cache
    if cache is None:
        return
    done = prefetch(svc, cache)
    if done.cached or done.dropped or done.failed:
        LOG.info(
            "image cache prefetch: cached %s, dropped %s, failed %s",
            done.cached,
            done.dropped,
            done.failed,
        )
    cache.prune()


class PeriodicUpkeep(PeriodicThread):
    """``upkeep`` every ``period`` seconds."""

    name = "imgreg-cache"

    def __init__(self, services: Callable[[], Services], period: float) -> None:
        super().__init__(period)
        self.services = services

    def tick(self) -> None:
        try:
            upkeep(self.services())
        except Exception:  # never let the thread die: the next period retries
            LOG.exception("image cache upkeep failed; retrying in %s s", self.period)


_slot: Slot[PeriodicUpkeep] = Slot()


def start(services: Callable[[], Services], conf: cfg.ConfigOpts) -> PeriodicUpkeep | None:
    """Start this process's timer (once; not without a cache, nor with a period of 0)."""
    if conf.image_cache_dir and conf.image_cache_period > 0:
        period = float(conf.image_cache_period)
        return _slot.start(lambda: PeriodicUpkeep(services, period))
    return _slot.running


def stop() -> None:
    _slot.stop()
