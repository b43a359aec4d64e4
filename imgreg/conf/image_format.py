"""``[image_format]`` (Glance's names): the disk and container formats accepted, and how the
content of an upload is inspected."""

from __future__ import annotations

from oslo_config import cfg

DISK_FORMATS = ["ami", "ari", "aki", "vhd", "vhdx", "vmdk", "raw", "qcow2", "vdi", "iso", "ploop"]
CONTAINER_FORMATS = ["ami", "ari", "aki", "bare", "ovf", "ova", "docker", "compressed"]

format_opts = [
    cfg.ListOpt("disk_formats", default=DISK_FORMATS, help="Accepted disk formats."),
    cfg.ListOpt("container_formats", default=CONTAINER_FORMATS, help="Accepted container formats."),
    cfg.BoolOpt(
        "require_image_format_match",
        default=True,
        help="Refuse (415) an upload whose content is not of its disk_format. Every upload's "
        "content is inspected (oslo.utils' format inspector), whatever its container_format; "
        "content that fails the safety checks of its detected format (backing or data files, "
        "vmdk extents, qed, luks, polyglots) is refused with 415 even when this is off.",
    ),
    cfg.ListOpt(
        "gpt_safety_checks_nonfatal",
        default=["mbr"],
        help="gpt safety checks whose failure is only logged.",
    ),
    cfg.ListOpt(
        "vmdk_allowed_types",
        default=["streamOptimized", "monolithicSparse"],
        help="vmdk create types accepted on upload; the inspector itself accepts only these "
        "two, so this can narrow the list but not widen it.",
    ),
    cfg.IntOpt(
        "max_virtual_size",
        default=1 << 50,
        min=1,
        help="Largest virtual size in bytes (1 PiB by default) an image header may claim; "
        "above it an upload is refused (413). The value is untrusted header data, never used "
        "to allocate anything.",
    ),
]
