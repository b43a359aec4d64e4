"""No policy rule matches on a missing value (issue 15, finding 2): a caller without a
project, an image without owner, a caller who is no member. oslo.policy formats ``None`` as
``"None"``, so ``project_id:%(project_id)s`` would match ``None`` with ``None``;
``Policy.check`` gives it neither (``policy_credentials`` leaves missing values out,
``KnownValues`` hides them from the target)."""

from __future__ import annotations

from pathlib import Path

import pytest

from imgreg.context import RequestContext
from imgreg.layers.policy import image_target
from imgreg.rules.policy import Policy, list_rules
from tests.support.builders import make_conf, make_image

ROLES = ["admin", "member", "reader"]
# rules a caller of any project (or none) may pass by its roles alone on a public image
ROLE_ONLY = {"default", "get_image", "download_image", "download_from_store"}


def nobody(project: str | None = None, **scope: str) -> RequestContext:
    return RequestContext("req-x", project_id=project, user_id="u1", roles=["member", "reader"],
                          **scope)  # fmt: skip


@pytest.fixture(scope="module")
def policy() -> Policy:
    return Policy(make_conf())


@pytest.mark.parametrize("missing", [None, ""])
@pytest.mark.parametrize("rule", [r.name for r in list_rules()])
def test_no_rule_matches_a_missing_project_with_a_missing_owner(policy, rule, missing):
    ctx = nobody(missing)
    for visibility in ("private", "shared"):
        target = image_target(make_image(owner=missing, visibility=visibility))
        expected = rule == "default" or (visibility == "shared" and rule in ROLE_ONLY)
        assert policy.check(ctx, rule, target) is expected, visibility


def test_a_rule_from_policy_yaml_cannot_match_on_missing_values(tmp_path: Path):
    path = tmp_path / "policy.yaml"
    path.write_text('"modify_image": "project_id:%(owner)s or user_id:%(member_id)s"\n')
    config = tmp_path / "imgreg.conf"
    config.write_text(f"[oslo_policy]\npolicy_file = {path}\n")
    policy = Policy(make_conf(config))
    ownerless = image_target(make_image(owner=None))
    assert not policy.check(nobody(), "modify_image", ownerless)
    assert not policy.check(nobody("p1"), "modify_image", ownerless)
    assert not policy.check(nobody(), "modify_image", image_target(make_image(owner="p1")))
    assert policy.check(nobody("p1"), "modify_image", image_target(make_image(owner="p1")))


@pytest.mark.parametrize("scope", [{"system_scope": "all"}, {"domain_id": "default"}])
def test_a_token_without_project_scope_passes_no_project_rule(policy, scope):
    """Glance's behaviour: its rules are for project scope, oslo.policy refuses the others."""
    ctx = RequestContext("req-x", user_id="u1", roles=ROLES, is_admin=True, **scope)
    public = image_target(make_image(owner="p1", visibility="public"))
    for rule in list_rules():
        if rule.scope_types:
            assert not policy.check(ctx, rule.name, public), rule.name
    assert policy.is_admin(ctx.policy_credentials())  # Glance's context_is_admin has no scope


def test_known_values_hide_missing_ones():
    from imgreg.rules.policy import KnownValues  # (here: the other tests also run without it)

    target = KnownValues({"owner": None, "member_id": "", "visibility": "shared", "n": 0})
    assert dict(target) == {"visibility": "shared", "n": 0}
    assert "owner" not in target
    with pytest.raises(KeyError):
        target["member_id"]
    assert "%(visibility)s" % target == "shared"  # noqa: UP031 - how oslo.policy reads it


def test_credentials_leave_missing_values_out():
    creds = RequestContext("r", project_id="", user_id=None, roles=["reader"]).policy_credentials()
    assert creds == {"roles": ["reader"], "is_admin": False}
    ctx = RequestContext("r", project_id="p1", user_id="u1", system_scope="all", domain_id="d")
    assert ctx.policy_credentials()["project_id"] == "p1"
    assert ctx.policy_credentials()["system_scope"] == "all"


@pytest.mark.parametrize("owner", [None, "", "p1"])
def test_a_caller_without_project_is_no_project(owner):
    for ctx in (nobody(None), nobody("")):
        assert not ctx.is_project(owner)
    assert nobody("p1").is_project("p1")
    assert not nobody("p1").is_project(None)
