"""Default policy rules of the metadefs API: Glance's rule names and Secure-RBAC defaults.

Reading is for an administrator, or a reader of the owning project, or any reader when the
namespace is public; every change is ``metadef_admin`` (an administrator). Operators override
any rule in ``policy.yaml``. ``metadef_target`` builds the target the rules see; a namespace
without an owner, or a caller without a project, never matches ``project_id:%(project_id)s``.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from oslo_policy import policy

from imgreg.context import RequestContext

ADMIN = "role:admin"
METADEF_ADMIN = "rule:metadef_admin"
READER_OR_PUBLIC = (
    f"{ADMIN} or (role:reader and (project_id:%(project_id)s or 'public':%(visibility)s))"
)
READER = f"{ADMIN} or (role:reader and project_id:%(project_id)s)"
# oslo.policy compares ``str()`` of both sides: a missing owner would read "None" and match a
# caller whose project is missing too. No credential can equal this.
NO_PROJECT = "\x00no project"
# ... and a caller without a project would match a namespace owned by a project named "None".
NO_CALLER = "\x00no caller"

NAMESPACES = "/v2/metadefs/namespaces"
NAMESPACE = NAMESPACES + "/{namespace_name}"
OBJECT = NAMESPACE + "/objects/{object_name}"
PROPERTY = NAMESPACE + "/properties/{property_name}"
TAG = NAMESPACE + "/tags/{tag_name}"
ASSOCIATION = NAMESPACE + "/resource_types/{name}"

# (name, check, description, method, path)
_RULES: list[tuple[str, str, str, str, str]] = [
    ("get_metadef_namespace", READER_OR_PUBLIC, "Show a namespace.", "GET", NAMESPACE),
    ("get_metadef_namespaces", READER, "List namespaces.", "GET", NAMESPACES),
    ("modify_metadef_namespace", METADEF_ADMIN, "Update a namespace.", "PUT", NAMESPACE),
    ("add_metadef_namespace", METADEF_ADMIN, "Create a namespace.", "POST", NAMESPACES),
    ("delete_metadef_namespace", METADEF_ADMIN, "Delete a namespace.", "DELETE", NAMESPACE),
    ("get_metadef_object", READER_OR_PUBLIC, "Show an object.", "GET", OBJECT),
    ("get_metadef_objects", READER_OR_PUBLIC, "List objects.", "GET", NAMESPACE + "/objects"),
    ("modify_metadef_object", METADEF_ADMIN, "Update an object.", "PUT", OBJECT),
    ("add_metadef_object", METADEF_ADMIN, "Create an object.", "POST", NAMESPACE + "/objects"),
    ("delete_metadef_object", METADEF_ADMIN, "Delete an object.", "DELETE", OBJECT),
    (
        "list_metadef_resource_types",
        READER_OR_PUBLIC,
        "List resource types.",
        "GET",
        "/v2/metadefs/resource_types",
    ),
    (
        "get_metadef_resource_type",
        READER_OR_PUBLIC,
        "List a namespace's resource type associations.",
        "GET",
        NAMESPACE + "/resource_types",
    ),
    (
        "add_metadef_resource_type_association",
        METADEF_ADMIN,
        "Associate a resource type.",
        "POST",
        NAMESPACE + "/resource_types",
    ),
    (
        "remove_metadef_resource_type_association",
        METADEF_ADMIN,
        "Remove a resource type association.",
        "DELETE",
        ASSOCIATION,
    ),
    ("get_metadef_property", READER_OR_PUBLIC, "Show a property.", "GET", PROPERTY),
    (
        "get_metadef_properties",
        READER_OR_PUBLIC,
        "List properties.",
        "GET",
        NAMESPACE + "/properties",
    ),
    ("modify_metadef_property", METADEF_ADMIN, "Update a property.", "PUT", PROPERTY),
    (
        "add_metadef_property",
        METADEF_ADMIN,
        "Create a property.",
        "POST",
        NAMESPACE + "/properties",
    ),
    ("remove_metadef_property", METADEF_ADMIN, "Delete a property.", "DELETE", PROPERTY),
    ("get_metadef_tag", READER_OR_PUBLIC, "Show a tag.", "GET", TAG),
    ("get_metadef_tags", READER_OR_PUBLIC, "List tags.", "GET", NAMESPACE + "/tags"),
    ("modify_metadef_tag", METADEF_ADMIN, "Update a tag.", "PUT", TAG),
    ("add_metadef_tag", METADEF_ADMIN, "Create a tag.", "POST", TAG),
    ("add_metadef_tags", METADEF_ADMIN, "Create tags.", "POST", NAMESPACE + "/tags"),
    ("delete_metadef_tag", METADEF_ADMIN, "Delete a tag.", "DELETE", TAG),
    ("delete_metadef_tags", METADEF_ADMIN, "Delete all tags.", "DELETE", NAMESPACE + "/tags"),
]


def list_rules() -> list[policy.RuleDefault]:
    rules: list[policy.RuleDefault] = [
        policy.RuleDefault("metadef_default", "", "Deprecated metadef default."),
        policy.RuleDefault("metadef_admin", ADMIN, "Who administers metadata definitions."),
    ]
    for name, check, text, method, path in _RULES:
        rules.append(
            policy.DocumentedRuleDefault(
                name=name,
                check_str=check,
                description=text,
                operations=[{"method": method, "path": path}],
                scope_types=["project"],
            )
        )
    return rules


def checked_context(ctx: RequestContext) -> RequestContext:
    """``ctx`` as the rules see it: a missing project is one no owner can equal."""
    if ctx.project_id is not None:
        return ctx
    return dataclasses.replace(ctx, project_id=NO_CALLER)


def metadef_target(owner: str | None, visibility: str | None = None) -> dict[str, Any]:
    """The target of a rule: the namespace's owner and visibility, or (for a list or a
    create) the caller's project as owner and no visibility."""
    return {
        "project_id": owner if owner is not None else NO_PROJECT,
        "visibility": visibility if visibility is not None else NO_PROJECT,
    }
