"""``[healthcheck]``: oslo.middleware's healthcheck options, with imgreg's defaults.

GET /healthcheck is oslo.middleware's healthcheck app (mounted beside the API by the paste
composite, so it needs no token), configured by [healthcheck] here, with imgreg's defaults:
the readiness check (imgreg.server.health: database and store answer) and a drain file whose
presence answers 503 while the API itself keeps serving.
"""

from __future__ import annotations

from oslo_config import cfg
from oslo_middleware.healthcheck import opts as healthcheck_opts

cfg.set_defaults(healthcheck_opts.HEALTHCHECK_OPTS, backends=["disable_by_file", "imgreg"])
cfg.set_defaults(
    healthcheck_opts.DISABLE_BY_FILE_OPTS, disable_by_file_path="$state_path/healthcheck_disable"
)

healthcheck_group_opts = healthcheck_opts.HEALTHCHECK_OPTS + healthcheck_opts.DISABLE_BY_FILE_OPTS
