"""``CorsRequestsOnly``: only a request that carries an ``Origin`` or is ``OPTIONS`` goes
through oslo's CORS filter (the responses are tests/functional/test_cors.py's)."""

from __future__ import annotations

import pytest

from imgreg.api.cors import CorsRequestsOnly


def app(environ, start_response):
    start_response("200 OK", [])
    return [b"app"]


def cors(environ, start_response):
    start_response("200 OK", [("Access-Control-Allow-Origin", "x")])
    return [b"cors"]


@pytest.mark.parametrize(
    ("environ", "through"),
    [
        ({"REQUEST_METHOD": "GET"}, b"app"),
        ({"REQUEST_METHOD": "PUT", "HTTP_ORIGIN": "http://h"}, b"cors"),
        ({"REQUEST_METHOD": "GET", "HTTP_ORIGIN": ""}, b"cors"),  # present, even empty
        ({"REQUEST_METHOD": "OPTIONS"}, b"cors"),  # oslo replaces a non-2xx preflight answer
    ],
)
def test_what_goes_through_oslos_filter(environ, through):
    assert CorsRequestsOnly(app, cors)(environ, lambda *a: None) == [through]
