"""Getting rid of RBD images, wherever they are: their snapshots first (unprotected, unless
clones hold them), then the image, from the pool or from its trash (``imgreg.store.rbd``)."""

from __future__ import annotations

import contextlib
import logging
from typing import Any

from imgreg.domain import errors

try:
    import rbd
except ImportError:  # Debian's python3-rbd (tools/ceph --install)
    rbd = None

LOG = logging.getLogger("imgreg.store.rbd")


def remove(ioctx: Any, name: str) -> None:
    """Unprotect and remove the image's snapshots, then the image itself. An image a client
    has open (a watch: a writer, or one that died less than ~30 s ago) is left whole:
    ``rbd.ImageBusy`` before anything is touched, rather than a blob without its snapshot."""
    with rbd.Image(ioctx, name) as image:
        if len(list(image.watchers_list())) > 1:  # ours, and someone else's
            raise rbd.ImageBusy("the image is open elsewhere")
        remove_snapshots(image)
    rbd.RBD().remove(ioctx, name)


def remove_trashed(ioctx: Any, internal_id: str) -> None:
    """The same for an image in the trash, known by its id there."""
    with rbd.Image(ioctx, image_id=internal_id) as image:
        remove_snapshots(image)
    rbd.RBD().trash_remove(ioctx, internal_id, True)


def remove_snapshots(image: Any) -> None:
    for snap in list(image.list_snaps()):
        if image.is_protected_snap(snap["name"]):
            try:
                image.unprotect_snap(snap["name"])
            except rbd.ImageBusy:
                raise errors.Conflict("The image data is in use: it has clones") from None
        image.remove_snap(snap["name"])


def remove_quietly(ioctx: Any, name: str, internal_id: str) -> None:
    """Best effort, after a failed upload: the image, wherever ``delete_partial`` put it."""
    try:
        try:
            remove(ioctx, name)
        except rbd.ImageNotFound:
            with contextlib.suppress(rbd.ImageNotFound):
                remove_trashed(ioctx, internal_id)
    except Exception as exc:
        LOG.warning("rbd: could not remove the partial upload %s: %s", name, exc)


def in_use(ioctx: Any, internal_id: str) -> bool:
    try:
        with rbd.Image(ioctx, image_id=internal_id, read_only=True) as image:
            return bool(list(image.watchers_list()))
    except rbd.ImageNotFound:
        return True  # being removed by someone else
