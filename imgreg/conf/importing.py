"""Options of interoperable image import and tasks, under Glance's names and groups, so the
sections of an operator's glance-api.conf carry over: ``[DEFAULT] enabled_import_methods``,
``[import_filtering_opts]`` (what web-download may fetch), ``[image_import_opts]`` (the
plugins), ``[image_conversion]``, ``[inject_metadata_properties]``,
``[glance_download_properties]`` and ``[task]``.

Beyond Glance: ``[import_filtering_opts]`` also refuses private, loopback, link-local and
other non-global addresses (``allow_private_addresses``), caps the time of a download
(``connect_timeout``, ``read_timeout``) and the number of redirects it follows. These filters
apply to glance-download too (as Glance's own, since OSSA-2026-004): the image endpoint of the
other region, from the caller's service catalog, must pass them like a web-download URI.
"""

from __future__ import annotations

from oslo_config import cfg, types

IMPORT_METHODS = ("glance-direct", "web-download", "copy-image", "glance-download")
PLUGINS = ("image_conversion", "image_decompression", "inject_image_metadata", "no_op")

import_opts = [
    cfg.ListOpt(
        "enabled_import_methods",
        default=["glance-direct", "web-download", "copy-image"],
        item_type=types.String(choices=IMPORT_METHODS),
        help="Import methods offered by /v2/info/import and accepted by POST "
        "/v2/images/{id}/import (Glance's default). glance-download imports an image from "
        "another region's image service, found in the caller's service catalog; its endpoint "
        "must pass [import_filtering_opts] like a web-download URI.",
    ),
]

_FILTERED = (
    " Applies to web-download URIs and to the other region's image endpoint of glance-download "
    "(list its host and port here; set allow_private_addresses when it is internal)."
)

filtering_opts = [
    cfg.ListOpt(
        "allowed_schemes",
        default=["http", "https"],
        help="URI schemes web-download may fetch (an empty list allows every scheme not in "
        "disallowed_schemes). Only http and https are ever fetched.",
    ),
    cfg.ListOpt("disallowed_schemes", default=[], help="URI schemes web-download refuses."),
    cfg.ListOpt(
        "allowed_hosts",
        default=[],
        help="Hosts (names or addresses) web-download may fetch from; empty allows every host "
        "not in disallowed_hosts. Compared after normalising numeric forms." + _FILTERED,
    ),
    cfg.ListOpt("disallowed_hosts", default=[], help="Hosts web-download refuses."),
    cfg.ListOpt(
        "allowed_ports",
        default=["80", "443"],
        help="Ports web-download may connect to; empty allows every port not in "
        "disallowed_ports." + _FILTERED,
    ),
    cfg.ListOpt("disallowed_ports", default=[], help="Ports web-download refuses."),
    cfg.BoolOpt(
        "allow_private_addresses",
        default=False,
        help="Let web-download connect to private, loopback, link-local, shared and reserved "
        "addresses (checked on the address actually connected to, after DNS). Off: only "
        "globally routable addresses. For tests and closed networks." + _FILTERED,
    ),
    cfg.IntOpt(
        "max_redirects",
        default=5,
        min=0,
        help="Redirects web-download follows; each target is filtered again.",
    ),
    cfg.FloatOpt(
        "connect_timeout", default=10.0, min=0.1, help="Seconds to connect to a web-download URI."
    ),
    cfg.FloatOpt(
        "read_timeout",
        default=60.0,
        min=0.1,
        help="Seconds a web-download may wait for the next bytes before it fails.",
    ),
]

plugin_opts = [
    cfg.ListOpt(
        "image_import_plugins",
        default=[],
        item_type=types.String(choices=PLUGINS),
        help="Plugins run, in this order, on the data of every import before it is stored.",
    ),
]

conversion_opts = [
    cfg.StrOpt(
        "output_format",
        default="raw",
        choices=["qcow2", "raw", "vmdk"],
        help="Disk format the image_conversion plugin converts imported images to.",
    ),
]

inject_opts = [
    cfg.ListOpt(
        "ignore_user_roles",
        default=["admin"],
        help="Users with any of these roles get no injected properties.",
    ),
    cfg.DictOpt(
        "inject", default={}, help="Properties inject_image_metadata sets on imported images."
    ),
]

glance_download_opts = [
    cfg.ListOpt(
        "extra_properties",
        item_type=types.String(quotes=True),
        bounds=True,
        default=["hw_", "trait:", "os_distro", "os_secure_boot", "os_type"],
        help="Prefixes of the properties glance-download copies from the other region's image "
        "(Glance's default; written in brackets, as Glance's). Only properties whose name "
        "starts with one of them are copied, never os_glance_* nor the image's own "
        "attributes; the disk and container formats are always copied.",
    ),
]

task_opts = [
    cfg.IntOpt(
        "task_time_to_live",
        default=48,
        min=1,
        help="Hours a task is kept after it was last updated; then it is deleted.",
    ),
    cfg.StrOpt(
        "work_dir",
        help="Local directory for import plugins' scratch files (the image being converted "
        "or decompressed). Unset: the system's temporary directory.",
    ),
]
