"""``[paste_deploy]``: which paste-deploy file and which of its pipelines imgreg-api serves."""

from __future__ import annotations

from oslo_config import cfg

paste_opts = [
    cfg.StrOpt(
        "flavor",
        default="",
        help="Pipeline suffix: '' (noauth: identity comes from the X-* headers "
        "keystonemiddleware would set, and a request without them is an administrator's) or "
        "'keystone' (keystonemiddleware's auth_token first, configured by "
        "[keystone_authtoken] with a service user that may validate tokens; a request "
        "without a valid token gets 401). Glance's cache flavors (caching, "
        "cachemanagement, keystone+caching, keystone+cachemanagement) are the same two "
        "pipelines: the cache is on exactly when image_cache_dir is set.",
    ),
    cfg.StrOpt(
        "config_file",
        default="imgreg-api-paste.ini",
        help="The paste-deploy file; looked up beside the configuration files when relative.",
    ),
]
