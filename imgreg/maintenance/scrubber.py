"""``imgreg-manage scrub``: finish delayed deletes whose ``scrub_time`` has passed.

For each due ``pending_delete`` image: delete its blobs from the store, then mark it
``deleted``. A blob that cannot be deleted leaves the image pending, to be retried next run.
"""

from __future__ import annotations

import datetime as dt
import logging

from imgreg.db.repo import SqlImageRepo
from imgreg.domain.image import utcnow
from imgreg.services import Services

LOG = logging.getLogger(__name__)


def scrub(svc: Services) -> int:
    """Returns how many images were finished."""
    repo = SqlImageRepo(svc.db)
    due = repo.pending_deletes(utcnow() - dt.timedelta(seconds=svc.conf.scrub_time))
    done = 0
    for image in due:
        try:
            for url in image.locations:
                svc.store.delete(url)
        except Exception:
            LOG.exception("scrub: could not delete the data of image %s; will retry", image.id)
            continue
        repo.finish_delete(image)
        done += 1
    return done
