"""``[DEFAULT]`` options of the image cache (Glance's names): a per-node, on-disk, read-through
cache of image data. Nothing about it is active unless ``image_cache_dir`` is set."""

from __future__ import annotations

from oslo_config import cfg

cache_opts = [
    cfg.StrOpt(
        "image_cache_dir",
        help="Directory of this node's image cache. When set, downloads of active images are "
        "read through it, the cache API (/v2/cache, API 2.14-2.18) is served and the "
        "prefetcher and pruner run; when unset there is no cache and /v2/cache is 404.",
    ),
    cfg.IntOpt(
        "image_cache_max_size",
        default=10 * 1024**3,
        min=0,
        help="Bytes of cached images the pruner keeps; beyond that it removes the least "
        "recently used ones. The cache may exceed it between two prunes.",
    ),
    cfg.IntOpt(
        "image_cache_stall_time",
        default=86400,
        min=0,
        help="Seconds after which an incomplete cache file (a fill that died) is removed "
        "by a clean.",
    ),
    cfg.IntOpt(
        "image_cache_period",
        default=300,
        min=0,
        help="Seconds between two runs of the prefetcher (fills queued images) and the "
        "pruner inside each server process; 0 runs neither (imgreg-manage cache still does).",
    ),
]
