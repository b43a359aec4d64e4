"""``LeasedStream``: renews the upload lease while data arrives, and at its end."""

from __future__ import annotations

import io

import pytest

from imgreg.api import image_data
from imgreg.api.image_data import LeasedStream, lease_keeper
from imgreg.domain import errors


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_renews_every_interval_and_at_the_end(monkeypatch):
    clock = Clock()
    monkeypatch.setattr(image_data.time, "monotonic", clock)
    renewals: list[float] = []
    stream = LeasedStream(io.BytesIO(b"x" * 10), lambda: renewals.append(clock.now), 20.0)
    for step in (5.0, 10.0, 10.0, 3.0):  # 105, 115, 125 (renew), 128
        clock.now += step
        assert stream.read(2) == b"xx"
    assert renewals == [125.0]
    clock.now += 1
    assert stream.read(2) == b"xx"
    assert stream.read(2) == b""  # the end: always renewed, so the blob lands under the lease
    assert renewals == [125.0, 129.0]


class Repo:
    def __init__(self, error: Exception | None) -> None:
        self.error = error
        self.renewed: list[str] = []

    def renew_upload_lease(self, image_id: str) -> None:
        if self.error is not None:
            raise self.error
        self.renewed.append(image_id)


def test_keeper_renews_through_the_repo():
    repo = Repo(None)
    lease_keeper(repo, "img")()
    assert repo.renewed == ["img"]


@pytest.mark.parametrize(
    ("error", "raised"),
    [(errors.NotFound("gone"), errors.Gone), (errors.StaleState("reaped"), errors.Conflict)],
)
def test_a_lost_lease_stops_the_upload(error, raised):
    with pytest.raises(raised):
        lease_keeper(Repo(error), "img")()
