"""The image document's timestamps: Glance's format, whatever the database hands back."""

from __future__ import annotations

import datetime as dt

import pytest

from imgreg.api.views import image_view
from tests.support.builders import make_image


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (dt.datetime(2026, 11, 28, 13, 29, 19, 999_999), "2026-11-28T13:29:19Z"),  # no fraction
        (dt.datetime(2026, 1, 2, 3, 4, 5), "2026-01-02T03:04:05Z"),
        (dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC), "2026-01-02T03:04:05Z"),  # aware
    ],
)
def test_timestamps_are_utc_seconds_with_z(value, shown):
    image = make_image(created_at=value, updated_at=value)
    view = image_view(image)
    assert view["created_at"] == view["updated_at"] == shown
