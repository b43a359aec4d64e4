"""Named fault points for crash tests. TEST-ONLY: inert unless ``IMGREG_FAULT`` is set.

``IMGREG_FAULT=<point>`` in a process's environment makes it SIGKILL itself the first time it
reaches ``hit("<point>")``, as a power cut or the OOM killer would: no ``finally``, no rollback.
``tests/e2e/test_crash.py`` starts ``imgreg-api`` with it, then restarts the server without it
and checks that nothing was left behind. The points of an upload, in order:

* ``mid_body``: the first block of data is in the partial file;
* ``after_rename``: the blob is fsynced, renamed into place and its directory fsynced;
* ``before_commit``: the image is about to be saved ``active``;
* ``after_commit``: it was saved ``active``; the response is not sent yet.

And of an import (``imgreg.importing.flow``, on the worker's import threads; its data passes
``mid_body`` too when it is fetched or converted):

* ``import_started``: the task is ``processing``, the image ``importing`` under its lease;
* ``import_before_commit``: the data is in place; the image is about to be saved ``active``.

And of a copy-image (``imgreg.importing.copy``; its data passes ``mid_body`` in a file store):

* ``copy_started``: the task is ``processing``, the active image under its copy lease;
* ``copy_before_attach``: a copy is complete in its store but not yet one of the image's.

And of a download that fills the image cache (``imgreg.cache.fill``):

* ``cache_mid_fill``: the first block is in the cache's partial file.

And of ``imgreg-manage import-glance`` (``imgreg.migrate.writer``):

* ``import_glance_before_commit``: a batch after the first is written, not yet committed.

And of a resumable (tus) upload (``imgreg.store.resumable``):

* ``resumable_mid_chunk``: a chunk that starts at or past half of the upload has its first
  block written to the session's data file, not yet fsynced nor counted.
"""

from __future__ import annotations

import os
import signal

POINTS = frozenset(
    {
        "mid_body",
        "after_rename",
        "before_commit",
        "after_commit",
        "import_started",
        "import_before_commit",
        "copy_started",
        "copy_before_attach",
        "cache_mid_fill",
        "import_glance_before_commit",
        "resumable_mid_chunk",
    }
)
_ARMED = os.environ.get("IMGREG_FAULT", "")


def hit(point: str) -> None:
    if point == _ARMED:
        os.kill(os.getpid(), signal.SIGKILL)
