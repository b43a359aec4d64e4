"""``imgreg-manage cache list | queue ID | delete ID | clear [--target cache|queue] | prune |
clean | prefetch``: this node's image cache by hand (the cache API's operations, without the
API: run it on the node whose cache it is, with that node's configuration).
``queue`` takes active images only, as ``PUT /v2/cache/{id}`` does; ``prefetch`` fills the
queued images now, as the server's timer does every ``image_cache_period`` seconds."""

from __future__ import annotations

import datetime as dt
import sys
import uuid

from oslo_config import cfg

ACTIONS = ["list", "queue", "delete", "clear", "prune", "clean", "prefetch"]


def add_parser(subparsers: object) -> None:
    cache = subparsers.add_parser("cache", help="this node's image cache")  # type: ignore[attr-defined]
    cache.add_argument("action", choices=ACTIONS)
    cache.add_argument("image_id", nargs="?", help="queue, delete: the image")
    cache.add_argument(
        "--target", choices=["cache", "queue", "both"], default="both", help="clear: what"
    )


def _when(seconds: float) -> str:
    return dt.datetime.fromtimestamp(seconds, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def run(conf: cfg.ConfigOpts) -> int:
    from imgreg.domain import errors
    from imgreg.maintenance import cache_upkeep
    from imgreg.services import wiring

    args = conf.category
    if not conf.image_cache_dir:
        print("cache: no image_cache_dir is configured", file=sys.stderr)
        return 1
    if args.action in ("queue", "delete"):
        try:
            image_id = str(uuid.UUID(args.image_id or ""))
        except ValueError:
            print(f"cache {args.action}: an image id is needed", file=sys.stderr)
            return 1
    svc = wiring.build_services(conf)
    cache = svc.cache
    assert cache is not None  # image_cache_dir is set
    if args.action == "list":
        for e in cache.entries():
            print(
                f"{e.image_id} size={e.size} hits={e.hits} "
                f"last_accessed={_when(e.last_accessed)} last_modified={_when(e.last_modified)}"
            )
        for queued in cache.queued():
            print(f"{queued} queued")
    elif args.action == "queue":
        ctx_repo = cache_upkeep.admin_repo(svc)
        try:
            image = ctx_repo.get(image_id)
        except errors.NotFound:
            print(f"cache queue: no image {image_id}", file=sys.stderr)
            return 1
        if image.status != "active":
            print(f"cache queue: image {image_id} is {image.status}, not active", file=sys.stderr)
            return 1
        cache.queue(image_id)
        print(f"queued {image_id}")
    elif args.action == "delete":
        cache.delete(image_id)
        cache.unqueue(image_id)
        print(f"deleted {image_id}")
    elif args.action == "clear":
        cache.clear(cache=args.target != "queue", queue=args.target != "cache")
        print(f"cleared: {args.target}")
    elif args.action == "prune":
        pruned = cache.prune()
        print(f"pruned {pruned.files} file(s), {pruned.bytes} bytes")
    elif args.action == "clean":
        print(f"cleaned {cache.clean()} file(s)")
    else:
        done = cache_upkeep.prefetch(svc, cache)
        print(
            f"prefetched {len(done.cached)}, dropped {len(done.dropped)}, failed {len(done.failed)}"
        )
        return 1 if done.failed else 0
    return 0
