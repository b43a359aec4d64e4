"""``[DEFAULT]`` quotas (Glance's names): how large an image may be and how much one owner
may store, and how many properties, tags, members and images there may be."""

from __future__ import annotations

from oslo_config import cfg

quota_opts = [
    cfg.IntOpt("image_size_cap", default=1099511627776, min=1, help="Largest image in bytes."),
    cfg.StrOpt(
        "user_storage_quota",
        default="0",
        help="Bytes one owner may store in all; suffixes B, KB, MB, GB, TB (binary). 0 means "
        "unlimited. It holds across workers and nodes: an upload reserves its bytes in the "
        "database before it writes them.",
    ),
    cfg.IntOpt("image_property_quota", default=128, help="Extra properties per image; <0 off."),
    cfg.IntOpt("image_tag_quota", default=128, help="Tags per image; <0 off."),
    cfg.IntOpt("image_member_quota", default=128, help="Members per image; <0 off."),
    cfg.IntOpt(
        "image_count_quota",
        default=-1,
        help="Images one owner (project) may have, counting every image not deleted (what "
        "Glance's unified limit image_count_total counts); a create over it gets 413. <0 off.",
    ),
]
