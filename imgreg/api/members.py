"""``/v2/images/{id}/members[/{member_id}]`` (image sharing).

Each action loads the image through the image chain (``NotFound`` when the caller may not see
it) and then works on the member chain of that image. Responses have Glance's shape; a new
member is answered with 200, not 201, as Glance does.
"""

from __future__ import annotations

from typing import Any

import webob

from imgreg.api.images import parse_json
from imgreg.api.text import check_text
from imgreg.api.views import json_response
from imgreg.domain import errors
from imgreg.domain.factory import normalize_id
from imgreg.domain.image import Image, isotime
from imgreg.domain.member import Member
from imgreg.domain.ports import MemberRepo
from imgreg.layers import build_image_repo, build_member_repo
from imgreg.services import Services


def member_view(member: Member) -> dict[str, Any]:
    return {
        "image_id": member.image_id,
        "member_id": member.member_id,
        "status": member.status,
        "created_at": isotime(member.created_at),
        "updated_at": isotime(member.updated_at),
        "schema": "/v2/schemas/member",
    }


def _body(request: webob.Request, svc: Services, key: str, missing: str) -> Any:
    body = parse_json(request, svc)
    if body is None:
        raise errors.Invalid("Body expected in request.")
    if not isinstance(body, dict):
        raise errors.Invalid(f'Expected a {key} in the form: {{"{key}": "..."}}')
    if key not in body:
        raise errors.Invalid(missing)
    check_text(body[key])
    return body[key]


class ImageMembersController:
    def __init__(self, svc: Services) -> None:
        self.svc = svc

    def _members(self, request: webob.Request, image_id: str) -> tuple[Image, MemberRepo]:
        ctx = request.environ["imgreg.context"]
        image = build_image_repo(ctx, self.svc).get(normalize_id(image_id))
        return image, build_member_repo(ctx, self.svc, image)

    def create(self, request: webob.Request, image_id: str) -> webob.Response:
        member_id = _body(request, self.svc, "member", "Member to be added not specified")
        member = Member.new(normalize_id(image_id), member_id)
        _image, repo = self._members(request, image_id)
        return json_response(member_view(repo.add(member)))

    def index(self, request: webob.Request, image_id: str) -> webob.Response:
        _image, repo = self._members(request, image_id)
        members = [member_view(m) for m in repo.list()]
        return json_response({"members": members, "schema": "/v2/schemas/members"})

    def show(self, request: webob.Request, image_id: str, member_id: str) -> webob.Response:
        _image, repo = self._members(request, image_id)
        try:
            member = repo.get(member_id)
        except errors.Forbidden as exc:
            # Glance answers 404 rather than 403 here, so as not to disclose the membership.
            raise errors.NotFound(exc.message) from None
        return json_response(member_view(member))

    def update(self, request: webob.Request, image_id: str, member_id: str) -> webob.Response:
        status = _body(request, self.svc, "status", "Status not specified")
        _image, repo = self._members(request, image_id)
        member = repo.get(member_id)
        member.change_status(status)
        return json_response(member_view(repo.save(member)))

    def delete(self, request: webob.Request, image_id: str, member_id: str) -> webob.Response:
        _image, repo = self._members(request, image_id)
        repo.remove(repo.get(member_id))
        return webob.Response(status=204)
