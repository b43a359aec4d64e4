"""``[cors]``: oslo.middleware's CORS options, with Glance's defaults.

The ``cors`` filter (first in both API pipelines of ``etc/imgreg-api-paste.ini``) answers
preflight requests and adds the ``Access-Control-*`` headers for the origins listed in
``[cors] allowed_origin``; with none listed it adds nothing, and a browser on another origin
cannot read imgreg's answers. Horizon's ``direct`` upload mode (the browser PUTs the image data
to ``/v2/images/{id}/file`` with its token in ``X-Auth-Token``) needs Horizon's origin here.
"""

from __future__ import annotations

from oslo_middleware import cors

# Glance's (glance.common.config): the headers its clients send, and those they may read back
cors.set_defaults(
    allow_headers=[
        "Content-MD5",
        "X-Image-Meta-Checksum",
        "X-Storage-Token",
        "Accept-Encoding",
        "X-Auth-Token",
        "X-Identity-Status",
        "X-Roles",
        "X-Service-Catalog",
        "X-User-Id",
        "X-Tenant-Id",
        "X-OpenStack-Request-ID",
    ],
    expose_headers=[
        "X-Image-Meta-Checksum",
        "X-Auth-Token",
        "X-Subject-Token",
        "X-Service-Token",
        "X-OpenStack-Request-ID",
    ],
    allow_methods=["GET", "PUT", "POST", "DELETE", "PATCH"],
)

cors_opts = cors.CORS_OPTS
