"""The metadef rules: Glance 33's names and Secure-RBAC defaults, and targets that never let a
missing project match a missing owner."""

from __future__ import annotations

import pytest
from oslo_config import cfg

from imgreg.context import RequestContext
from imgreg.domain import errors
from imgreg.domain.metadef import Namespace
from imgreg.layers.metadefs.common import MetadefPolicy
from imgreg.rules.metadef_policy import list_rules, metadef_target
from imgreg.rules.policy import Policy

GLANCE_NAMES = {
    "metadef_default", "metadef_admin",
    "get_metadef_namespace", "get_metadef_namespaces", "modify_metadef_namespace",
    "add_metadef_namespace", "delete_metadef_namespace",
    "get_metadef_object", "get_metadef_objects", "modify_metadef_object", "add_metadef_object",
    "delete_metadef_object",
    "list_metadef_resource_types", "get_metadef_resource_type",
    "add_metadef_resource_type_association", "remove_metadef_resource_type_association",
    "get_metadef_property", "get_metadef_properties", "modify_metadef_property",
    "add_metadef_property", "remove_metadef_property",
    "get_metadef_tag", "get_metadef_tags", "modify_metadef_tag", "add_metadef_tag",
    "add_metadef_tags", "delete_metadef_tag", "delete_metadef_tags",
}  # fmt: skip


def test_names_and_defaults():
    rules = {rule.name: rule.check_str for rule in list_rules()}
    assert set(rules) == GLANCE_NAMES
    writes = [n for n in rules if n.split("_")[0] in ("add", "modify", "delete", "remove")]
    assert all(rules[n] == "rule:metadef_admin" for n in writes)
    assert rules["metadef_admin"] == "role:admin"
    assert (
        rules["get_metadef_namespaces"]
        == "role:admin or (role:reader and project_id:%(project_id)s)"
    )


@pytest.fixture
def policy():
    conf = cfg.ConfigOpts()
    conf([], project="imgreg-test")
    return Policy(conf)


def ctx(project, roles=("reader",)):
    return RequestContext("req-1", project_id=project, roles=list(roles))


@pytest.mark.parametrize("rule", ["get_metadef_namespace", "get_metadef_namespaces"])
def test_missing_project_never_owns(policy, rule):
    assert not policy.check(ctx(None), rule, metadef_target(None, "private"))
    assert not policy.check(ctx(None), rule, metadef_target(None))


def test_owner_and_public(policy):
    assert policy.check(ctx("p1"), "get_metadef_namespace", metadef_target("p1", "private"))
    assert not policy.check(ctx("p2"), "get_metadef_namespace", metadef_target("p1", "private"))
    assert policy.check(ctx("p2"), "get_metadef_namespace", metadef_target("p1", "public"))
    assert policy.check(ctx(None), "get_metadef_namespace", metadef_target(None, "public"))


def test_missing_project_is_not_the_project_named_none(policy):
    owned = Namespace(namespace="n", owner="None", visibility="private")
    owned.mark_loaded()
    assert not MetadefPolicy(ctx(None), policy).can_see(owned)
    assert MetadefPolicy(ctx("None"), policy).can_see(owned)
    with pytest.raises(errors.NotFound):
        MetadefPolicy(ctx(None), policy).enforce("get_metadef_objects", owned)


def test_writes_are_for_admins(policy):
    assert not policy.check(ctx("p1", ["member"]), "add_metadef_tag", metadef_target("p1"))
    assert policy.check(ctx("p1", ["admin"]), "add_metadef_tag", metadef_target("p1"))
