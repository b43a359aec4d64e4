"""The parsers of ``If-Match``/``If-None-Match`` (``imgreg.api.validators``) and of an
upload's ``Repr-Digest`` (``imgreg.api.repr_digests``), on their own: exact results, and
linear time on huge values."""

from __future__ import annotations

import base64
import time

import pytest

from imgreg.api import repr_digests, validators
from imgreg.domain import errors

SHA256 = base64.b64encode(b"\x01" * 32).decode()
SHA512 = base64.b64encode(b"\x02" * 64).decode()


@pytest.mark.parametrize(
    ("header", "tags"),
    [
        ('"7"', [(False, "7")]),
        ('W/"7"', [(True, "7")]),
        (' "1" ,\tW/"2", "x" ', [(False, "1"), (True, "2"), (False, "x")]),
        ('"1" "2"', []),
        ('"', []),
        ("7", []),
        ('w/"7"', []),  # W is case-sensitive
        ('"a b"', []),  # no space inside an entity-tag
        ('""', [(False, "")]),
        ("", []),
    ],
)
def test_entity_tags(header, tags):
    assert validators.entity_tags(header) == tags


def test_strong_and_weak_match():
    assert validators.strong_match('"7"', "7")
    assert validators.strong_match(" * ", "7")
    assert not validators.strong_match('W/"7"', "7")
    assert validators.weak_match('W/"7"', "7")
    assert not validators.weak_match('"8", W/"9"', "7")
    assert not validators.strong_match('"*"', "7")


def test_repr_digest_parsing():
    parse = repr_digests.parse_repr_digest
    assert parse(None) == ()
    assert parse(f"sha-256=:{SHA256}:") == (("sha256", b"\x01" * 32),)
    both = parse(f"sha-512=:{SHA512}:, md5=:AAAA:, sha-256=:{SHA256}:")
    assert both == (("sha256", b"\x01" * 32), ("sha512", b"\x02" * 64))


@pytest.mark.parametrize("header", ["", "md5=:AAAA:", f"sha-256=:{SHA512}:", "sha-256=:=:"])
def test_repr_digest_refusals(header):
    with pytest.raises(errors.Invalid, match="Invalid Repr-Digest header"):
        repr_digests.parse_repr_digest(header)


@pytest.mark.parametrize(
    "header",
    [
        '"' + "a" * 1_000_000,
        ", ".join(['W/"x"'] * 100_000),
        "W/" * 500_000,
    ],
)
def test_huge_conditional_headers_take_linear_time(header):
    start = time.monotonic()
    validators.weak_match(header, "7")
    validators.strong_match(header, "7")
    assert time.monotonic() - start < 2


def test_a_huge_repr_digest_is_refused_quickly():
    start = time.monotonic()
    for header in ("sha-256=:" + "A" * 1_000_000 + ":", ",".join(["x"] * 100_000)):
        with pytest.raises(errors.Invalid):
            repr_digests.parse_repr_digest(header)
    assert time.monotonic() - start < 2
