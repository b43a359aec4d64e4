"""The role matrix: every operation by every Secure-RBAC persona, through the whole app, against
Glance's default rules (glance-api.md §4.2, §2.9); then ``policy.yaml`` overrides that change
the outcome.

The image belongs to project ``OWNER``; ``other-*`` are callers of project ``OTHER`` (a stranger
to the image unless the operation's name says it is shared with them); ``admin`` has the admin
role on a third project. Outcomes are status codes: 404 where the caller may not see the image,
403 where it may see it but not do this. Listing is 200 for everyone, so its outcome says
whether the image is in the caller's list. Each case starts from an empty database.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.support.client import Client, client_with

OWNER = "p-owner"
OTHER = "p-other"
THIRD = "p-third"  # a project an image is shared with, neither the caller's nor the owner's
DATA = b"policy matrix data\n"
PATCH = "application/openstack-images-v2.1-json-patch"

CALLERS = {
    "owner-reader": (OWNER, "reader"),
    "owner-member": (OWNER, "member,reader"),
    "admin": ("p-admin", "admin,member,reader"),
    "other-member": (OTHER, "member,reader"),
    "other-reader": (OTHER, "reader"),
}
# callers only the override table uses
EXTRA_CALLERS = {
    "owner-observer": (OWNER, "observer"),  # authenticated, but none of the default roles
    "admin-reader": ("p-admin", "admin,reader"),
}


def caller(api: Client, name: str) -> Client:
    project, roles = {**CALLERS, **EXTRA_CALLERS}[name]
    return api.as_(project, roles=roles, user=f"u-{name}")


# --- the data each case starts from, made by the administrator (no identity headers) ---


def make_image(
    api: Client,
    visibility: str = "private",
    active: bool = False,
    deactivated: bool = False,
    members: tuple[str, ...] = (),
    accepted: tuple[str, ...] = (),
    tags: tuple[str, ...] = (),
) -> str:
    image = api.create(name="matrix", owner=OWNER, visibility=visibility, tags=list(tags))
    image_id = image["id"]
    if active or deactivated:
        assert api.put_file(image_id, DATA).status_int == 204
    if deactivated:
        assert api.post(f"/v2/images/{image_id}/actions/deactivate").status_int == 204
    for member in (*members, *accepted):
        assert api.post(f"/v2/images/{image_id}/members", {"member": member}).status_int == 200
    for member in accepted:
        resp = api.request(
            "PUT", f"/v2/images/{image_id}/members/{member}", body={"status": "accepted"}
        )
        assert resp.status_int == 200, resp.text
    return image_id


# --- what each operation does; it returns the outcome ---


def status(resp: Any) -> int:
    return resp.status_int


def create(owner: str | None = None) -> Callable[[Client, Client], int]:
    def op(api: Client, c: Client) -> int:
        body = {"name": "new", "disk_format": "raw", "container_format": "bare"}
        if owner is not None:
            body["owner"] = owner
        return status(c.post("/v2/images", body))

    return op


def show(**setup: Any) -> Callable[[Client, Client], int]:
    return lambda api, c: status(c.get(f"/v2/images/{make_image(api, **setup)}"))


def listing(**setup: Any) -> Callable[[Client, Client], int | str]:
    def op(api: Client, c: Client) -> int | str:
        image_id = make_image(api, **setup)
        resp = c.get("/v2/images")
        if resp.status_int != 200:
            return resp.status_int
        return "listed" if image_id in [i["id"] for i in resp.json["images"]] else "not listed"

    return op


def patch(ops: list[dict[str, Any]], **setup: Any) -> Callable[[Client, Client], int]:
    def op(api: Client, c: Client) -> int:
        image_id = make_image(api, **setup)
        resp = c.request(
            "PATCH", f"/v2/images/{image_id}", body=ops, headers={"Content-Type": PATCH}
        )
        if resp.status_int == 200:  # the change really happened
            assert api.get(f"/v2/images/{image_id}").json == resp.json
        return status(resp)

    return op


RENAME = [{"op": "replace", "path": "/name", "value": "renamed"}]
PUBLICIZE = [{"op": "replace", "path": "/visibility", "value": "public"}]
COMMUNITIZE = [{"op": "replace", "path": "/visibility", "value": "community"}]


def delete(**setup: Any) -> Callable[[Client, Client], int]:
    def op(api: Client, c: Client) -> int:
        image_id = make_image(api, **setup)
        code = status(c.delete(f"/v2/images/{image_id}"))
        gone = api.get(f"/v2/images/{image_id}").status_int == 404
        assert gone == (code == 204)
        return code

    return op


def upload(**setup: Any) -> Callable[[Client, Client], int]:
    def op(api: Client, c: Client) -> int:
        image_id = make_image(api, **setup)
        code = status(c.put_file(image_id, DATA))
        assert (api.get(f"/v2/images/{image_id}").json["status"] == "active") == (code == 204)
        return code

    return op


def download(**setup: Any) -> Callable[[Client, Client], int]:
    def op(api: Client, c: Client) -> int:
        resp = c.get(f"/v2/images/{make_image(api, active=True, **setup)}/file")
        if resp.status_int == 200:
            assert resp.body == DATA
        return status(resp)

    return op


def download_no_data(**setup: Any) -> Callable[[Client, Client], int]:
    """A queued image: the policy decides before the 204 that says there is no data."""

    def op(api: Client, c: Client) -> int:
        resp = c.get(f"/v2/images/{make_image(api, **setup)}/file")
        if resp.status_int == 204:
            assert resp.body == b""
        return status(resp)

    return op


def tag(method: str, **setup: Any) -> Callable[[Client, Client], int]:
    def op(api: Client, c: Client) -> int:
        image_id = make_image(api, tags=("t1",), **setup)
        name = "t2" if method == "PUT" else "t1"
        code = status(c.request(method, f"/v2/images/{image_id}/tags/{name}"))
        changed = {"t1", "t2"} if method == "PUT" else set()
        assert set(api.get(f"/v2/images/{image_id}").json["tags"]) == (
            changed if code == 204 else {"t1"}
        )
        return code

    return op


def action(name: str, **setup: Any) -> Callable[[Client, Client], int]:
    def op(api: Client, c: Client) -> int:
        image_id = make_image(api, **setup)
        code = status(c.post(f"/v2/images/{image_id}/actions/{name}"))
        after = api.get(f"/v2/images/{image_id}").json["status"]
        assert (after == {"deactivate": "deactivated", "reactivate": "active"}[name]) == (
            code == 204
        )
        return code

    return op


def member_op(
    method: str, member: str | None = None, body: Any = None, **setup: Any
) -> Callable[[Client, Client], int]:
    def op(api: Client, c: Client) -> int:
        image_id = make_image(api, visibility="shared", **setup)
        url = f"/v2/images/{image_id}/members" + (f"/{member}" if member else "")
        return status(c.request(method, url, body=body))

    return op


def member_list(**setup: Any) -> Callable[[Client, Client], int | str]:
    """200 with the member ids the caller sees."""

    def op(api: Client, c: Client) -> int | str:
        image_id = make_image(api, visibility="shared", **setup)
        resp = c.get(f"/v2/images/{image_id}/members")
        if resp.status_int != 200:
            return resp.status_int
        return ",".join(sorted(m["member_id"] for m in resp.json["members"])) or "none"

    return op


SHARED_WITH_OTHER = {"visibility": "shared", "members": (OTHER,)}
BOTH = f"{OTHER},{THIRD}"

# operation -> (what it does, outcome for each caller in CALLERS order:
#                owner-reader, owner-member, admin, other-member, other-reader)
MATRIX: dict[str, tuple[Callable[[Client, Client], int | str], tuple[int | str, ...]]] = {
    "create": (create(), (403, 201, 201, 201, 403)),
    "create owned by the owner project": (create(OWNER), (403, 201, 201, 403, 403)),
    "show": (show(), (200, 200, 200, 404, 404)),
    "show, public": (show(visibility="public"), (200, 200, 200, 200, 200)),
    "show, community": (show(visibility="community"), (200, 200, 200, 200, 200)),
    "show, shared with other (pending)": (show(**SHARED_WITH_OTHER), (200, 200, 200, 200, 200)),
    "list": (listing(), ("listed", "listed", "listed", "not listed", "not listed")),
    "list, shared with other (pending)": (
        listing(**SHARED_WITH_OTHER), ("listed", "listed", "listed", "not listed", "not listed"),
    ),
    "list, shared with other (accepted)": (
        listing(visibility="shared", accepted=(OTHER,)), ("listed",) * 5,
    ),
    "list, public": (listing(visibility="public"), ("listed",) * 5),
    "PATCH": (patch(RENAME), (403, 200, 200, 404, 404)),
    "PATCH, public": (patch(RENAME, visibility="public"), (403, 200, 200, 403, 403)),
    "PATCH, shared with other": (patch(RENAME, **SHARED_WITH_OTHER), (403, 200, 200, 403, 403)),
    "delete": (delete(), (403, 204, 204, 404, 404)),
    "delete, public": (delete(visibility="public"), (403, 204, 204, 403, 403)),
    "upload": (upload(), (403, 204, 204, 404, 404)),
    "upload, shared with other": (upload(**SHARED_WITH_OTHER), (403, 204, 204, 403, 403)),
    "download": (download(), (403, 200, 200, 404, 404)),
    "download, public": (download(visibility="public"), (403, 200, 200, 200, 403)),
    "download, community": (download(visibility="community"), (403, 200, 200, 200, 403)),
    "download, shared with other": (download(**SHARED_WITH_OTHER), (403, 200, 200, 200, 403)),
    "download, no data": (download_no_data(), (403, 204, 204, 404, 404)),
    "download, no data, public": (
        download_no_data(visibility="public"), (403, 204, 204, 204, 403),
    ),
    "tag add": (tag("PUT"), (403, 204, 204, 404, 404)),
    "tag add, public": (tag("PUT", visibility="public"), (403, 204, 204, 403, 403)),
    "tag delete": (tag("DELETE"), (403, 204, 204, 404, 404)),
    "tag delete, community": (tag("DELETE", visibility="community"), (403, 204, 204, 403, 403)),
    "deactivate": (action("deactivate", active=True), (403, 204, 204, 404, 404)),
    "deactivate, public": (
        action("deactivate", active=True, visibility="public"), (403, 204, 204, 403, 403),
    ),
    "reactivate": (action("reactivate", deactivated=True), (403, 204, 204, 404, 404)),
    "reactivate, public": (
        action("reactivate", deactivated=True, visibility="public"), (403, 204, 204, 403, 403),
    ),
    "member add": (member_op("POST", body={"member": THIRD}), (403, 200, 200, 404, 404)),
    "member add, shared with other": (
        member_op("POST", body={"member": THIRD}, members=(OTHER,)), (403, 200, 200, 403, 403),
    ),
    "member list": (member_list(members=(THIRD,)), (THIRD, THIRD, THIRD, 404, 404)),
    "member list, shared with other": (
        member_list(members=(OTHER, THIRD)), (BOTH, BOTH, BOTH, OTHER, OTHER),
    ),
    "member show": (member_op("GET", THIRD, members=(THIRD,)), (200, 200, 200, 404, 404)),
    "member show, other's own row": (
        member_op("GET", OTHER, members=(OTHER,)), (200, 200, 200, 200, 200),
    ),
    "member show, a third project's row, shared with other": (
        member_op("GET", THIRD, members=(OTHER, THIRD)), (200, 200, 200, 404, 404),
    ),
    "member update (accept)": (
        member_op("PUT", THIRD, {"status": "accepted"}, members=(THIRD,)),
        (403, 403, 200, 404, 404),
    ),
    "member update (accept), other's own row": (
        member_op("PUT", OTHER, {"status": "accepted"}, members=(OTHER,)),
        (403, 403, 200, 200, 403),
    ),
    "member delete": (member_op("DELETE", THIRD, members=(THIRD,)), (403, 204, 204, 404, 404)),
    "member delete, other's own row": (
        member_op("DELETE", OTHER, members=(OTHER,)), (403, 204, 204, 403, 403),
    ),
    "publicize (PATCH visibility=public)": (patch(PUBLICIZE), (403, 403, 200, 404, 404)),
    "publicize, shared with other": (
        patch(PUBLICIZE, **SHARED_WITH_OTHER), (403, 403, 200, 403, 403),
    ),
    "publicize at create": (
        lambda api, c: status(c.post("/v2/images", {"name": "p", "visibility": "public"})),
        (403, 403, 201, 403, 403),
    ),
    "communitize (PATCH visibility=community)": (patch(COMMUNITIZE), (403, 200, 200, 404, 404)),
    "communitize, shared with other": (
        patch(COMMUNITIZE, **SHARED_WITH_OTHER), (403, 200, 200, 403, 403),
    ),
    "communitize at create": (
        lambda api, c: status(c.post("/v2/images", {"name": "c", "visibility": "community"})),
        (403, 201, 201, 201, 403),
    ),
}  # fmt: skip

CASES = [
    pytest.param(operation, who, expected[i], id=f"{operation} | {who}")
    for operation, (_, expected) in MATRIX.items()
    for i, who in enumerate(CALLERS)
]


@pytest.mark.parametrize(("operation", "who", "expected"), CASES)
def test_default_rules(api: Client, operation: str, who: str, expected: int | str):
    op, _ = MATRIX[operation]
    assert op(api, caller(api, who)) == expected


# --- policy.yaml overrides: (rules, operation, caller, outcome with them) --------------------
# The outcome without the override is the matrix's (or, for the extra callers, DEFAULTS').

DEFAULTS: dict[tuple[str, str], int | str] = {
    ("list", "owner-observer"): 403,  # get_images needs the reader role
    ("create", "owner-observer"): 403,
    ("show", "admin-reader"): 200,
}
OVERRIDES = [
    ({"modify_image": "role:admin"}, "PATCH", "owner-member", 403),
    ({"modify_image": "role:admin"}, "tag add", "owner-member", 403),
    ({"modify_image": "role:reader and project_id:%(project_id)s"}, "PATCH", "owner-reader", 200),
    ({"get_images": ""}, "list", "owner-observer", "listed"),
    ({"get_images": "!"}, "list", "admin", 403),
    ({"get_image": "role:admin"}, "show", "owner-member", 404),  # denied read hides the image
    ({"get_image": "role:admin"}, "PATCH", "owner-member", 404),
    ({"add_image": "role:admin"}, "create", "owner-member", 403),
    ({"add_image": "role:observer"}, "create", "owner-observer", 201),
    ({"delete_image": "!"}, "delete", "admin", 403),
    ({"upload_image": "role:admin"}, "upload", "owner-member", 403),
    ({"download_image": "role:reader"}, "download", "owner-reader", 200),
    ({"download_image": "role:admin"}, "download, public", "other-member", 403),
    ({"download_image": "!"}, "download, no data", "admin", 403),
    ({"deactivate": "role:admin"}, "deactivate", "owner-member", 403),
    ({"reactivate": "role:admin"}, "reactivate", "owner-member", 403),
    ({"publicize_image": "role:member"}, "publicize (PATCH visibility=public)", "owner-member",
     200),
    ({"publicize_image": "role:member"}, "publicize at create", "other-member", 201),
    ({"communitize_image": "role:admin"}, "communitize (PATCH visibility=community)",
     "owner-member", 403),
    ({"add_member": "role:admin"}, "member add", "owner-member", 403),
    ({"get_members": "role:admin"}, "member list", "owner-member", 403),
    # Glance's member show answers a denied get_member with 404, like a missing member
    ({"get_member": "role:admin"}, "member show, other's own row", "other-member", 404),
    ({"modify_member": "role:admin"}, "member update (accept), other's own row", "other-member",
     403),
    ({"delete_member": "role:admin"}, "member delete", "owner-member", 403),
    # who counts as an administrator: the rules still grant role:admin, but the image is no
    # longer visible to a non-owner who is not context_is_admin
    ({"context_is_admin": "role:superuser"}, "show", "admin-reader", 404),
]  # fmt: skip


@pytest.mark.parametrize(
    ("rules", "operation", "who", "expected"),
    [
        pytest.param(*case, id=f"{next(iter(case[0]))} | {case[1]} | {case[2]}")
        for case in OVERRIDES
    ],
)
def test_policy_file_overrides_change_outcomes(
    conf: Any, tmp_path: Path, rules: dict[str, str], operation: str, who: str, expected: Any
):
    if who in CALLERS:
        default = MATRIX[operation][1][list(CALLERS).index(who)]
    else:
        default = DEFAULTS[(operation, who)]
    assert default != expected  # the override must change something
    path = tmp_path / "policy.yaml"
    path.write_text("".join(f'"{name}": "{check}"\n' for name, check in rules.items()))
    api = client_with(conf, **{"oslo_policy.policy_file": str(path)})
    op, _ = MATRIX[operation]
    assert op(api, caller(api, who)) == expected


@pytest.mark.parametrize(("operation", "who"), list(DEFAULTS))
def test_extra_callers_under_the_defaults(api: Client, operation: str, who: str):
    op, _ = MATRIX[operation]
    assert op(api, caller(api, who)) == DEFAULTS[(operation, who)]
