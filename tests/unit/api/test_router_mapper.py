"""``imgreg.api.router.Mapper``: routes' matching without the master regexp, same results."""

from __future__ import annotations

import pytest
import routes

from imgreg.api.router import Mapper

PATHS = [
    ("GET", "/v2/images/0a0b0c0d-0000-4000-8000-000000000001"),
    ("PUT", "/v2/images/0a0b0c0d-0000-4000-8000-000000000001/file"),
    ("GET", "/v2/images"),
    ("DELETE", "/v2/images"),
    ("GET", "/v2/images/x/y/z"),
    ("GET", "/v2/schemas/image"),
    ("GET", "/nope"),
    ("GET", "/v2/images/%2F..%2F"),
]


def build(mapper: routes.Mapper) -> routes.Mapper:
    mapper.connect(
        "/v2/images", controller="images", action="index", conditions={"method": ["GET"]}
    )
    mapper.connect("/v2/images", controller="not_allowed")
    mapper.connect(
        "/v2/images/{image_id}", controller="images", action="show", conditions={"method": ["GET"]}
    )
    mapper.connect(
        "/v2/images/{image_id}/file",
        controller="data",
        action="upload",
        conditions={"method": ["PUT"]},
    )
    mapper.connect("/v2/schemas/image", controller="schemas", action="image")
    return mapper


def test_no_master_regexp_is_run():
    mapper = build(Mapper())
    mapper.routematch(environ={"REQUEST_METHOD": "GET", "PATH_INFO": "/v2/images"})
    assert mapper._master_regexp is None


@pytest.mark.parametrize(("method", "path"), PATHS)
def test_the_same_matches_as_routes(method, path):
    ours, theirs = build(Mapper()), build(routes.Mapper())
    environ = {"REQUEST_METHOD": method, "PATH_INFO": path}
    got = ours.routematch(environ=dict(environ))
    want = theirs.routematch(environ=dict(environ))
    assert (got and (got[0], got[1].routepath)) == (want and (want[0], want[1].routepath))
