"""What the metadef layers share: who may change a namespace, and the policy check that does
not reveal namespaces the caller may not see."""

from __future__ import annotations

from imgreg.context import RequestContext
from imgreg.domain import errors
from imgreg.domain.metadef import Namespace, namespace_not_found
from imgreg.rules.metadef_policy import checked_context, metadef_target
from imgreg.rules.policy import Policy


def may_see(ctx: RequestContext, namespace: Namespace) -> bool:
    """An administrator sees every namespace; anyone else the public ones and those their
    project owns. A caller without a project owns nothing."""
    if ctx.is_admin or namespace.visibility == "public":
        return True
    return ctx.project_id is not None and namespace.owner == ctx.project_id


def may_change(ctx: RequestContext, namespace: Namespace) -> bool:
    """Owner (as loaded, before the change) or administrator."""
    project = ctx.project_id
    return ctx.is_admin or (project is not None and namespace.loaded_owner == project)


def check_may_change(ctx: RequestContext, namespace: Namespace) -> None:
    if not may_change(ctx, namespace):
        raise errors.Forbidden("You are not permitted to modify this namespace.")


class MetadefPolicy:
    """``imgreg.rules.metadef_policy`` rules for one caller. A refused rule reads as ``NotFound``
    when the caller may not even see the namespace (Glance's ``MetadefAPIPolicy``)."""

    def __init__(self, ctx: RequestContext, policy: Policy) -> None:
        self.project = ctx.project_id  # the caller's own, possibly missing
        self.ctx = checked_context(ctx)
        self.policy = policy

    def target_of(self, namespace: Namespace) -> dict[str, str]:
        return metadef_target(namespace.loaded_owner, namespace.loaded_visibility)

    def can_see(self, namespace: Namespace) -> bool:
        return self.policy.check(self.ctx, "get_metadef_namespace", self.target_of(namespace))

    def enforce(self, rule: str, namespace: Namespace) -> None:
        if self.policy.check(self.ctx, rule, self.target_of(namespace)):
            return
        if rule == "get_metadef_namespace" or not self.can_see(namespace):
            raise namespace_not_found(namespace.loaded_name or namespace.namespace)
        raise errors.Forbidden(f"You are not authorized to complete {rule} action.")

    def enforce_global(self, rule: str) -> None:
        """A rule with no namespace yet (list, create): the caller's project is the owner."""
        self.policy.enforce(self.ctx, rule, metadef_target(self.project))
