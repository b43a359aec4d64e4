"""What Nova and Cinder do with an image's RBD location, replayed with the ``rados``/``rbd``
bindings, for the clone tests of ``tests/e2e/test_rbd_clone.py``.

Written from Nova's ``nova/storage/rbd_utils.py`` (``RBDDriver.parse_url``, ``is_cloneable``,
``clone``, ``flatten``, ``create_snap``, ``remove_snap``) and ``nova/virt/libvirt/
imagebackend.py`` (``Rbd.clone``, ``Rbd.flatten``, ``Rbd.direct_snapshot``,
``_get_parent_pool``), and Cinder's ``cinder/volume/drivers/rbd.py`` (``_parse_location``,
``_is_cloneable``), which checks the same things in the same order: an ``rbd://`` URL of four
non-blank parts, the cluster's own fsid, a ``raw`` image, a snapshot that opens read-only.
"""

from __future__ import annotations

import contextlib
import urllib.parse
from collections.abc import Iterator
from typing import Any

import rados
import rbd

PREFIX = "rbd://"


class Unacceptable(Exception):
    """Nova's ``ImageUnacceptable``: the location names no RBD snapshot."""


class Ceph:
    """One client connection to the cluster, as a compute or volume host holds it."""

    def __init__(self, conffile: str) -> None:
        self.cluster = rados.Rados(conffile=conffile)
        self.cluster.connect(timeout=30)

    def close(self) -> None:
        self.cluster.shutdown()

    @contextlib.contextmanager
    def pool(self, name: str) -> Iterator[Any]:
        ioctx = self.cluster.open_ioctx(name)
        try:
            yield ioctx
        finally:
            ioctx.close()

    @contextlib.contextmanager
    def image(self, pool: str, name: str, **kw: Any) -> Iterator[Any]:
        with self.pool(pool) as ioctx, rbd.Image(ioctx, name, **kw) as image:
            yield image

    def fsid(self) -> str:
        return str(self.cluster.get_fsid())

    def features(self) -> int:
        """``RADOSClient.features``: the cluster's ``rbd_default_features``, else layering."""
        features = self.cluster.conf_get("rbd_default_features")
        return int(features) if features and int(features) else rbd.RBD_FEATURE_LAYERING

    def names(self, pool: str) -> list[str]:
        with self.pool(pool) as ioctx:
            return list(rbd.RBD().list(ioctx))

    def read(self, pool: str, name: str, snapshot: str | None = None) -> bytes:
        with self.image(pool, name, snapshot=snapshot, read_only=True) as image:
            return bytes(image.read(0, image.size()))

    # -- what Nova's and Cinder's drivers do ------------------------------------------------------
    def is_cloneable(self, location: dict[str, Any], image_meta: dict[str, Any]) -> bool:
        try:
            fsid, pool, name, snapshot = parse_url(location["url"])
        except Unacceptable:
            return False
        if fsid != self.fsid():  # in another Ceph cluster
            return False
        if image_meta.get("disk_format") != "raw":
            return False
        try:  # the snapshot must open read-only
            with self.image(pool, name, snapshot=snapshot, read_only=True):
                return True
        except (rbd.Error, rados.Error):
            return False

    def clone(self, location: dict[str, Any], dest_pool: str, dest_name: str) -> None:
        _fsid, pool, name, snapshot = parse_url(location["url"])
        with self.pool(pool) as src, self.pool(dest_pool) as dest:
            rbd.RBD().clone(src, name, snapshot, dest, dest_name, features=self.features())

    def parent_pool(self, pool: str, name: str) -> str | None:
        """``parent_info``'s pool: where the image a clone was made from lives, if any."""
        with self.image(pool, name, read_only=True) as image:
            try:
                return str(image.parent_info()[0])
            except rbd.ImageNotFound:
                return None

    def flatten(self, pool: str, name: str) -> None:
        with self.image(pool, name) as image:
            image.flatten()

    def create_snap(self, pool: str, name: str, snap: str, protect: bool = False) -> None:
        with self.image(pool, name) as image:
            image.create_snap(snap)
            if protect and not image.is_protected_snap(snap):
                image.protect_snap(snap)

    def remove_snap(self, pool: str, name: str, snap: str) -> None:
        with self.image(pool, name) as image:
            if image.is_protected_snap(snap):
                image.unprotect_snap(snap)
            image.remove_snap(snap)

    def remove(self, pool: str, name: str) -> None:
        with self.pool(pool) as ioctx:
            rbd.RBD().remove(ioctx, name)


def parse_url(url: str) -> list[str]:
    """Nova's ``parse_url`` (Cinder's ``_parse_location``): fsid, pool, image, snapshot."""
    if not url.startswith(PREFIX):
        raise Unacceptable("Not stored in rbd")
    pieces = [urllib.parse.unquote(piece) for piece in url[len(PREFIX) :].split("/")]
    if "" in pieces:
        raise Unacceptable("Blank components")
    if len(pieces) != 4:
        raise Unacceptable("Not an rbd snapshot")
    return pieces


def nova_locations(image: dict[str, Any]) -> list[dict[str, Any]]:
    """``GlanceImageServiceV2.show(include_locations=True)``: the image's ``locations`` (shown
    with show_multiple_locations), then its ``direct_url`` (show_image_direct_url)."""
    locations = list(image.get("locations") or [])
    if image.get("direct_url"):
        locations.append({"url": image["direct_url"], "metadata": {}})
    return locations


def nova_clone(ceph: Ceph, image: dict[str, Any], dest_pool: str, dest_name: str) -> str:
    """``Rbd.clone``: a raw (or iso) image, cloned from its first cloneable location; the URL
    it was cloned from."""
    if image.get("disk_format") not in ("raw", "iso"):
        raise Unacceptable("Image is not raw format")
    for location in nova_locations(image):
        if ceph.is_cloneable(location, image):
            ceph.clone(location, dest_pool, dest_name)
            return str(location["url"])
    raise Unacceptable("No image locations are accessible")


def nova_direct_snapshot(
    ceph: Ceph, disk_pool: str, disk: str, snapshot_name: str, image_id: str
) -> str:
    """``Rbd.direct_snapshot`` of the instance disk ``disk_pool/disk``, a clone of a Glance
    image: snapshot the disk, clone it into the parent image's pool under the new image's id,
    flatten, drop the disk's snapshot, protect a snapshot ``snap``; the URL Nova gives Glance."""
    fsid = ceph.fsid()
    parent_pool = ceph.parent_pool(disk_pool, disk)
    if parent_pool is None:
        raise Unacceptable(f"Cannot determine the parent storage pool for {disk}")
    ceph.create_snap(disk_pool, disk, snapshot_name, protect=True)
    location = {"url": f"{PREFIX}{fsid}/{disk_pool}/{disk}/{snapshot_name}"}
    try:
        ceph.clone(location, parent_pool, image_id)
        ceph.flatten(parent_pool, image_id)
    finally:
        ceph.remove_snap(disk_pool, disk, snapshot_name)
    ceph.create_snap(parent_pool, image_id, "snap", protect=True)
    return f"{PREFIX}{fsid}/{parent_pool}/{image_id}/snap"
