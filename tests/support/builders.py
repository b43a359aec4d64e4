"""Small builders shared by the unit tests: configuration, contexts and images."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from oslo_config import cfg

from imgreg import conf as imgreg_conf
from imgreg.context import RequestContext
from imgreg.domain.image import Image

PROJECT = "project-a"
OTHER_PROJECT = "project-b"


def make_conf(*config_files: Path, **overrides: Any) -> cfg.ConfigOpts:
    """A fresh ``ConfigOpts`` with imgreg's options; ``group__name=value`` sets a group option."""
    conf = imgreg_conf.register(cfg.ConfigOpts())
    args: list[str] = []
    for path in config_files:
        args += ["--config-file", str(path)]
    conf(args=args, project="imgreg", default_config_files=[], default_config_dirs=[])
    for key, value in overrides.items():
        group, _, name = key.rpartition("__")
        conf.set_override(name, value, group=group or None)
    return conf


def reader(project: str = PROJECT) -> RequestContext:
    return RequestContext("req-reader", project_id=project, user_id="u-reader", roles=["reader"])


def member(project: str = PROJECT) -> RequestContext:
    return RequestContext(
        "req-member", project_id=project, user_id="u-member", roles=["member", "reader"]
    )


def admin(project: str = "admin-project") -> RequestContext:
    return RequestContext(
        "req-admin",
        project_id=project,
        user_id="u-admin",
        roles=["admin", "member", "reader"],
        is_admin=True,
    )


def make_image(**fields: Any) -> Image:
    """A clean (just loaded) image owned by ``PROJECT`` unless told otherwise."""
    fields.setdefault("id", str(uuid.uuid4()))
    fields.setdefault("owner", PROJECT)
    image = Image(**fields)
    image.mark_clean()
    return image
