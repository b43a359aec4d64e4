"""Images made through a real Glance's API with python-glanceclient (in this process), of
every kind ``import-glance`` must carry over, and what an API server answers about them (the
snapshot that Glance's answers and imgreg's are compared by).

Callers are projects by their identity headers (Glance's ContextMiddleware trusts them, as
behind keystonemiddleware): the owner ``p1`` as admin, members ``p2``..``p4`` as members.
"""

from __future__ import annotations

import hashlib
import io
from typing import Any

from glanceclient import client as glance_client
from glanceclient import exc as glance_exc

KINDS = (
    "private", "shared", "public", "community_hidden", "protected", "deactivated", "queued",
    "deleted", "pending_delete", "other_owner",
)  # fmt: skip
SHOWN = ("id", "name", "status", "visibility", "protected", "os_hidden", "owner",
         "container_format", "disk_format", "min_disk", "min_ram", "size", "virtual_size",
         "checksum", "os_hash_algo", "os_hash_value", "created_at", "updated_at", "tags",
         "stores")  # fmt: skip
MEMBERS = {"p2": "pending", "p3": "accepted", "p4": "rejected"}


def headers(project: str, roles: str = "admin") -> dict[str, str]:
    return {
        "X-Identity-Status": "Confirmed",
        "X-Project-Id": project,
        "X-User-Id": f"user-{project}",
        "X-Roles": roles,
    }


def client(url: str, project: str = "p1", roles: str = "admin") -> Any:
    glance = glance_client.Client("2", endpoint=url)
    # on the session, not as identity_headers: glanceclient percent-encodes the values of
    # those, so "member,reader" would arrive as one role named "member%2Creader"
    glance.http_client.session.headers.update(headers(project, roles))
    return glance


def data_of(index: int) -> bytes:
    return hashlib.sha512(str(index).encode()).digest() * (8 + index % 5)


def make(url: str, start: int, count: int) -> list[str]:
    """``count`` images, kinds in turn, numbered from ``start``; their ids."""
    admin = client(url)
    made = []
    for index in range(start, start + count):
        kind = KINDS[index % len(KINDS)]
        owner = "p2" if kind == "other_owner" else "p1"
        fields: dict[str, Any] = {
            "name": f"img-{index:04d}-{kind}",
            "disk_format": "raw",
            "container_format": "bare",
            "owner": owner,
            "visibility": {"shared": "shared", "public": "public"}.get(kind, "private"),
            "min_ram": index % 7,
            "tags": [f"t{index % 3}", kind],
            "build": str(index),
            "os_distro": "cirros" if index % 2 else "debian",
        }
        if kind == "community_hidden":
            fields.update(visibility="community", os_hidden=True)
        image = admin.images.create(**fields)
        made.append(image["id"])
        if kind in ("queued", "deleted"):
            if kind == "deleted":
                admin.images.delete(image["id"])
            continue
        data = data_of(index)
        admin.images.upload(image["id"], io.BytesIO(data), image_size=len(data))
        if kind == "shared":
            for member, status in MEMBERS.items():
                admin.image_members.create(image["id"], member)
                if status != "pending":
                    client(url, member, "member,reader").image_members.update(
                        image["id"], member, status
                    )
        elif kind == "protected":
            admin.images.update(image["id"], protected=True)
        elif kind == "deactivated":
            admin.images.deactivate(image["id"])
        elif kind == "pending_delete":
            admin.images.delete(image["id"])
    return made


def change(url: str, ids: list[str], count: int) -> list[str]:
    """``count`` changes to existing images (a property, a tag, a member, a delete) in turn;
    the ids changed."""
    admin = client(url)
    listed = {image["id"]: image["status"] for image in admin.images.list()}
    live = [i for i in ids if listed.get(i) in ("active", "queued")]
    changed = []
    for n, image_id in enumerate(live[:count]):
        image = admin.images.get(image_id)
        if n % 4 == 0:
            admin.images.update(image_id, changed=f"n{n}")
        elif n % 4 == 1:
            admin.image_tags.update(image_id, "changed")
        elif n % 4 == 2 and image["visibility"] == "shared":
            admin.image_members.create(image_id, "p9")
        elif n % 4 == 2:
            admin.images.update(image_id, remove_props=["build"])
        else:
            if image["protected"]:
                admin.images.update(image_id, protected=False)
            admin.images.delete(image_id)
        changed.append(image_id)
    return changed


def snapshot(url: str, ids: list[str]) -> dict[str, Any]:
    """What the server at ``url`` answers about ``ids``: the admin lists (visible and
    hidden), each image as shown (or its status code), its members, and its data's digest."""
    admin = client(url)
    listed = sorted(i["id"] for i in admin.images.list())
    hidden = sorted(i["id"] for i in admin.images.list(filters={"os_hidden": True}))
    images: dict[str, Any] = {}
    for image_id in ids:
        try:
            image = admin.images.get(image_id)
        except glance_exc.HTTPException as exc:  # the status code is the answer
            images[image_id] = {"error": getattr(exc, "code", repr(exc))}
            continue
        shown = {k: image.get(k) for k in SHOWN}
        shown["tags"] = sorted(shown["tags"] or [])
        shown["extra"] = {k: image[k] for k in ("build", "os_distro", "changed") if k in image}
        shown["members"] = (
            sorted(
                (m["member_id"], m["status"], m["created_at"], m["updated_at"])
                for m in admin.image_members.list(image_id)
            )
            if image["visibility"] == "shared"
            else None  # only a shared image has members to list (403 otherwise)
        )
        if image["status"] == "active":
            shown["data"] = hashlib.sha512(b"".join(admin.images.data(image_id))).hexdigest()
        images[image_id] = shown
    return {"listed": listed, "hidden": hidden, "images": images}
