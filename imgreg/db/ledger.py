"""``SqlUploadLedger``: what one upload holds in the database while its image is ``saving``
(or ``uploading`` for a stage, ``importing`` for an import: its ``holding`` status;
``SqlImageRepo.begin_upload`` returns it): the lease it renews, the storage it reserves, and
the saves that end it, committed or aborted. Every call is one short transaction.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from imgreg.domain.image import Image

if TYPE_CHECKING:
    from imgreg.db.repo import SqlImageRepo


class SqlUploadLedger:
    def __init__(self, repo: SqlImageRepo, image: Image, carried: int = 0) -> None:
        self.repo = repo
        self.image = image
        self.holding = image.status
        self.carried = carried  # reserved already: a resumable session's hold, taken over

    def renew(self) -> None:
        self.repo.renew_upload_lease(self.image.id, self.holding)

    def reserve(self, needed: int, wanted: int, quota: int) -> tuple[int, int]:
        return self.repo.reserve_storage(self.image.id, self.image.owner, needed, wanted, quota)

    def commit(self, image: Image) -> Image:
        return self.repo.save(image, from_state=self.holding, settle=True)

    def abort(self) -> Image | None:
        current = self.repo.get(self.image.id)
        if current.status != self.holding:
            return None
        current.abort_upload()
        return self.repo.save(current, from_state=self.holding)
