"""Default policy rules (Glance's Secure-RBAC defaults) and the enforcer imgreg uses.

Operators override any rule in ``policy.yaml`` (``[oslo_policy] policy_file``); the defaults
live here, and ``oslopolicy-sample-generator --namespace imgreg`` prints them.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from typing import Any

from oslo_config import cfg
from oslo_policy import policy

from imgreg.context import RequestContext
from imgreg.domain import errors
from imgreg.rules import metadef_policy

ADMIN = "role:admin"
PROJECT_MEMBER = "role:member and project_id:%(project_id)s"
PROJECT_READER = "role:reader and project_id:%(project_id)s"
ADMIN_OR_MEMBER = f"{ADMIN} or ({PROJECT_MEMBER})"
# Creating: the caller's project must also be the owner-to-be (Glance's
# ADMIN_OR_PROJECT_MEMBER_CREATE_IMAGE).
ADMIN_OR_MEMBER_CREATE = f"{ADMIN} or ({PROJECT_MEMBER} and project_id:%(owner)s)"
SHARED_WITH_ME = (
    "project_id:%(member_id)s or 'community':%(visibility)s or 'public':%(visibility)s"
    " or 'shared':%(visibility)s"
)
# Members: the owner's readers, or the caller is a member of the image.
ADMIN_OR_READER_OR_IMAGE_MEMBER = (
    f"{ADMIN} or (role:reader and (project_id:%(project_id)s or project_id:%(member_id)s))"
)


def _rule(name: str, check: str, text: str, method: str, path: str) -> policy.DocumentedRuleDefault:
    return policy.DocumentedRuleDefault(
        name=name,
        check_str=check,
        description=text,
        operations=[{"method": method, "path": path}],
        scope_types=["project"],
    )


def list_rules() -> list[policy.RuleDefault]:
    image = "/v2/images/{image_id}"
    member = image + "/members/{member_id}"
    return [
        policy.RuleDefault("context_is_admin", ADMIN, "Who is an administrator."),
        policy.RuleDefault("default", "", "Rule for anything not listed."),
        policy.RuleDefault(
            "service_api", "role:service or role:admin", "Calls other services make."
        ),
        _rule("add_image", ADMIN_OR_MEMBER_CREATE, "Create an image.", "POST", "/v2/images"),
        _rule(
            "get_image",
            f"{ADMIN} or (role:reader and (project_id:%(project_id)s or {SHARED_WITH_ME}))",
            "Show an image.",
            "GET",
            image,
        ),
        _rule("get_images", f"{ADMIN} or ({PROJECT_READER})", "List images.", "GET", "/v2/images"),
        _rule("modify_image", ADMIN_OR_MEMBER, "Update an image.", "PATCH", image),
        _rule("delete_image", ADMIN_OR_MEMBER, "Delete an image.", "DELETE", image),
        _rule("upload_image", ADMIN_OR_MEMBER, "Upload image data.", "PUT", image + "/file"),
        _rule(
            "download_image",
            f"{ADMIN} or (role:member and (project_id:%(project_id)s or {SHARED_WITH_ME}))",
            "Download image data.",
            "GET",
            image + "/file",
        ),
        _rule("deactivate", ADMIN_OR_MEMBER, "Deactivate.", "POST", image + "/actions/deactivate"),
        _rule("reactivate", ADMIN_OR_MEMBER, "Reactivate.", "POST", image + "/actions/reactivate"),
        _rule("copy_image", ADMIN, "Copy an image to other stores.", "POST", image + "/import"),
        *store_rules(),
        _rule("publicize_image", ADMIN, "Make an image public.", "PATCH", image),
        _rule("communitize_image", ADMIN_OR_MEMBER, "Make an image community.", "PATCH", image),
        _rule("add_member", ADMIN_OR_MEMBER, "Share an image.", "POST", image + "/members"),
        _rule("get_member", ADMIN_OR_READER_OR_IMAGE_MEMBER, "Show a member.", "GET", member),
        _rule(
            "get_members",
            ADMIN_OR_READER_OR_IMAGE_MEMBER,
            "List members.",
            "GET",
            image + "/members",
        ),
        _rule(
            "modify_member",
            f"{ADMIN} or (role:member and project_id:%(member_id)s)",
            "Accept or reject a share.",
            "PUT",
            member,
        ),
        _rule("delete_member", ADMIN_OR_MEMBER, "Stop sharing an image.", "DELETE", member),
        *location_rules(image),
    ]


def location_rules(image: str) -> list[policy.RuleDefault]:
    """Glance's location rules: the legacy PATCH /locations ones, and the 2.17 calls, which
    are for services (Nova, Cinder) in the first place."""
    locations = image + "/locations"
    return [
        _rule(
            "get_image_location",
            f"{ADMIN} or ({PROJECT_READER})",
            "Read locations.",
            "PATCH",
            image,
        ),
        _rule("set_image_location", ADMIN_OR_MEMBER, "Add or replace locations.", "PATCH", image),
        _rule(
            "delete_image_location",
            ADMIN,
            "Remove a location, or an image's data from one store.",
            "PATCH",
            image,
        ),
        _rule(
            "add_image_location",
            f"rule:service_api or ({PROJECT_MEMBER} and project_id:%(owner)s)",
            "Add a location to a queued image.",
            "POST",
            locations,
        ),
        _rule("fetch_image_location", "rule:service_api", "List locations.", "GET", locations),
    ]


def store_rules() -> list[policy.RuleDefault]:
    """Glance's rules of the several-stores calls (``imgreg.api.stores``); deleting an
    image's data from one store takes the location rules (``location_rules``)."""
    image = "/v2/images/{image_id}"
    return [
        _rule(
            "stores_info_detail",
            f"{ADMIN} or rule:service_api",
            "Show each store's type, weight and properties.",
            "GET",
            "/v2/info/stores/detail",
        ),
        _rule(
            "download_from_store",
            f"{ADMIN} or (role:member and (project_id:%(project_id)s or {SHARED_WITH_ME}))",
            "Download from the stores ?prefer= names first.",
            "GET",
            image + "/file",
        ),
    ]


def task_rules() -> list[policy.RuleDefault]:
    """Glance's task rules: ``tasks_api_access`` guards every ``/v2/tasks`` call (admins by
    default); the finer ones default to ``rule:default`` and only matter when an operator
    tightens them. ``modify_task`` is listed, as in Glance, but nothing checks it (Glance
    never did either)."""
    tasks = "/v2/tasks"
    task = tasks + "/{task_id}"
    return [
        _rule("get_task", "rule:default", "Show a task.", "GET", task),
        _rule("get_tasks", "rule:default", "List tasks.", "GET", tasks),
        _rule("add_task", "rule:default", "Create a task.", "POST", tasks),
        _rule("modify_task", "rule:default", "Not checked (as in Glance).", "DELETE", task),
        policy.DocumentedRuleDefault(
            name="tasks_api_access",
            check_str=ADMIN,
            description="Any call of the tasks API.",
            operations=[
                {"method": "GET", "path": task},
                {"method": "GET", "path": tasks},
                {"method": "POST", "path": tasks},
                {"method": "DELETE", "path": task},
            ],
            scope_types=["project"],
        ),
    ]


def cache_rules() -> list[policy.RuleDefault]:
    """Glance's cache API rules (only served with ``image_cache_dir``): administrators."""
    cache = "/v2/cache"
    return [
        _rule("cache_list", ADMIN, "List this node's image cache.", "GET", cache),
        _rule("cache_image", ADMIN, "Queue an image for caching.", "PUT", cache + "/{image_id}"),
        _rule("cache_delete", ADMIN, "Remove cached or queued images.", "DELETE", cache),
        _rule("cache_clean", ADMIN, "Clean the image cache.", "POST", cache + "/clean"),
        _rule("cache_prune", ADMIN, "Prune the image cache.", "POST", cache + "/prune"),
        _rule(
            "list_cached_nodes",
            ADMIN,
            "List the nodes that cache an image.",
            "GET",
            cache + "/nodes/{image_id}",
        ),
    ]


def all_rules() -> list[policy.RuleDefault]:
    return list_rules() + task_rules() + cache_rules() + metadef_policy.list_rules()


def get_enforcer() -> policy.Enforcer:
    """The ``oslo.policy.enforcer`` entry point (``oslopolicy-policy-generator``,
    ``oslopolicy-list-redundant``, ``oslopolicy-validator``): an enforcer over the global
    ``cfg.CONF``, which those tools have parsed, so ``--config-file etc/imgreg-api.conf``
    brings in ``[oslo_policy]``."""
    enforcer = policy.Enforcer(cfg.CONF)
    enforcer.register_defaults(all_rules())
    return enforcer


class KnownValues(Mapping[str, Any]):
    """A policy target in which a missing value (``None`` or ``""``: an image without owner,
    a caller who is no member) is a missing key. oslo.policy fails a check on a missing key,
    but formats ``None`` as ``"None"``: ``project_id:%(project_id)s`` would then match a
    caller without a project against an image without owner. Every target goes through this,
    so no rule, default or from ``policy.yaml``, can match on a missing value. Keys are read
    as the rules ask for them (a lazy target, ``SharedImageTarget``, stays lazy)."""

    def __init__(self, target: Mapping[str, Any]) -> None:
        self._target = target

    def __getitem__(self, key: str) -> Any:
        value = self._target[key]
        if value is None or value == "":
            raise KeyError(key)
        return value

    def __iter__(self) -> Iterator[str]:
        return (key for key in self._target if key in self)

    def __len__(self) -> int:
        return sum(1 for _key in self)


class Policy:
    """Loaded once per process; ``enforce`` raises the domain's ``Forbidden``.

    oslo.policy looks for the policy file (and stats it and every policy directory) on each
    ``enforce``: about ten ``stat`` calls per check when no file exists, a fifth of a short
    request's CPU. Here the enforcer looks at the files at most every ``RELOAD_SECONDS``,
    so an edited ``policy.yaml`` still takes effect, within that time, without a restart.

    ``is_admin`` runs on every request, for credentials that repeat (a few services and users
    make most calls), and oslo.policy inspects the check function's signature on each check:
    its answers are remembered per set of credentials until the next look at the files.
    """

    RELOAD_SECONDS = 2.0
    ADMIN_CACHE_SIZE = 1024

    def __init__(self, conf: cfg.ConfigOpts) -> None:
        self.enforcer = policy.Enforcer(conf, use_conf=True)
        self.enforcer.register_defaults(all_rules())
        self.enforcer.load_rules()
        self.enforcer.use_conf = False  # enforce() then uses the rules it has
        self._reload_at = time.monotonic() + self.RELOAD_SECONDS
        self._admin: dict[tuple[Any, ...], bool] = {}

    def _fresh(self) -> policy.Enforcer:
        now = time.monotonic()
        if now >= self._reload_at:
            self._reload_at = now + self.RELOAD_SECONDS
            self._admin = {}  # the rules may change now
            self.enforcer.use_conf = True
            try:
                self.enforcer.load_rules()  # reloads only what changed on disk
            finally:
                self.enforcer.use_conf = False
        return self.enforcer

    def check(self, ctx: RequestContext, rule: str, target: Mapping[str, Any]) -> bool:
        """Whether ``rule`` allows the caller this on ``target``. False, too, where the rule's
        scope_types do not include the token's scope (a system- or domain-scoped token and
        imgreg's project rules: oslo.policy always checks the scope)."""
        creds = ctx.policy_credentials()
        return bool(self._fresh().enforce(rule, KnownValues(target), creds))

    def enforce(self, ctx: RequestContext, rule: str, target: Mapping[str, Any]) -> None:
        if not self.check(ctx, rule, target):
            raise errors.Forbidden(f"You are not authorized to complete {rule} action.")

    def is_admin(self, creds: dict[str, Any]) -> bool:
        enforcer = self._fresh()
        key = tuple(
            (name, tuple(value) if isinstance(value, list) else value)
            for name, value in sorted(creds.items())
        )
        known = self._admin.get(key)
        if known is None:
            known = bool(enforcer.enforce("context_is_admin", {}, creds))
            if len(self._admin) >= self.ADMIN_CACHE_SIZE:
                self._admin = {}
            self._admin[key] = known
        return known
