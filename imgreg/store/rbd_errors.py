"""The RBD store's error translation: Ceph's errors as the store's (``imgreg.store.rbd``)."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator

from imgreg.domain import errors

try:
    import rados
    import rbd
except ImportError:  # Debian's python3-rados/python3-rbd (tools/ceph --install)
    rados = rbd = None

LOG = logging.getLogger("imgreg.store.rbd")


@contextlib.contextmanager
def translated(what: str, passing: tuple[type[BaseException], ...] = ()) -> Iterator[None]:
    """Ceph's errors as the store's: no space or a pool quota mean full; anything else is
    logged here and reported without addresses."""
    try:
        yield
    except errors.ImgregError:
        raise
    except passing:
        raise
    except (rbd.NoSpace, rbd.DiskQuotaExceeded, rados.NoSpace) as exc:
        LOG.warning("rbd: could not %s: %s", what, exc)
        raise errors.StoreFull("Image storage media is full") from None
    except (rados.Error, rbd.Error) as exc:
        LOG.warning("rbd: could not %s: %s", what, exc)
        raise errors.StoreError(f"The image store failed to {what}") from None
