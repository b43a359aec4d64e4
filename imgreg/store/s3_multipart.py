"""One S3 multipart upload of the S3 store (``imgreg.store.s3``): parts read from the source one
at a time, sent up to ``threads`` at once while the next is read (so at most ``threads`` + 1
parts are in memory), each checked by S3 against its Content-MD5; completed at the source's end,
aborted on any failure. An upload whose abort failed (or whose process was killed) stays listed
by ListMultipartUploads, where the store's ``list_partials`` finds it."""

from __future__ import annotations

import base64
import collections
import concurrent.futures
import hashlib
import logging
from typing import Any

import botocore.exceptions

from imgreg.domain import errors
from imgreg.store.source import BLOCK, Source

LOG = logging.getLogger(__name__)

MiB = 1024 * 1024
MAX_PARTS = 10_000  # S3's limit
GONE = {"404", "NoSuchKey", "NoSuchBucket", "NoSuchUpload"}


class MultipartUpload:
    def __init__(self, client: Any, bucket: str, key: str, part_size: int, threads: int) -> None:
        self.client = client
        self.bucket = bucket
        self.key = key
        self.part_size = part_size
        self.threads = threads

    def run(self, source: Source, first: bytearray) -> None:
        """Upload ``first`` and the rest of ``source`` as one object."""
        if (source.expected or 0) > MAX_PARTS * self.part_size:
            raise self._too_large()
        answer = self.client.create_multipart_upload(Bucket=self.bucket, Key=self.key)
        upload = answer["UploadId"]
        pool = concurrent.futures.ThreadPoolExecutor(self.threads, thread_name_prefix="s3-part")
        try:
            etags = self._send_parts(upload, source, first, pool)
            pool.shutdown()
            parts = [{"PartNumber": n, "ETag": etag} for n, etag in enumerate(etags, 1)]
            self.client.complete_multipart_upload(
                Bucket=self.bucket,
                Key=self.key,
                UploadId=upload,
                MultipartUpload={"Parts": parts},
            )
        except BaseException:
            pool.shutdown(cancel_futures=True)  # parts in flight end before the abort
            abort(self.client, self.bucket, self.key, upload)
            raise

    def _send_parts(
        self,
        upload: str,
        source: Source,
        part: bytearray,
        pool: concurrent.futures.ThreadPoolExecutor,
    ) -> list[str]:
        """Upload ``part`` and the parts that follow it in ``source``; their ETags in order."""
        sent: list[concurrent.futures.Future[str]] = []
        flying: collections.deque[concurrent.futures.Future[str]] = collections.deque()
        while part:
            if len(sent) == MAX_PARTS:
                raise self._too_large()
            if len(flying) == self.threads:
                flying.popleft().result()  # a failed part stops the upload here
            future = pool.submit(self.send_part, upload, len(sent) + 1, part)
            sent.append(future)
            flying.append(future)
            part = read_part(source, self.part_size)
        return [future.result() for future in sent]

    def send_part(self, upload: str, number: int, part: bytearray) -> str:
        answer = self.client.upload_part(
            Bucket=self.bucket,
            Key=self.key,
            UploadId=upload,
            PartNumber=number,
            Body=part,
            ContentMD5=content_md5(part),
        )
        etag: str = answer["ETag"]
        return etag

    def _too_large(self) -> errors.StoreFull:
        return errors.StoreFull(
            f"Image too large for the store: over {MAX_PARTS} parts of {self.part_size // MiB} MiB"
        )


def abort(client: Any, bucket: str, key: str, upload: str) -> None:
    """Best effort: an upload left is found by ``list_partials``."""
    try:
        client.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload)
    except botocore.exceptions.ClientError as exc:
        if exc.response.get("Error", {}).get("Code") not in GONE:
            LOG.warning("s3: could not abort the upload of %s: %s", key, exc)
    except Exception as exc:
        LOG.warning("s3: could not abort the upload of %s: %s", key, exc)


def read_part(source: Source, limit: int) -> bytearray:
    """Up to ``limit`` bytes of ``source``; fewer only at its end."""
    part = bytearray()
    while len(part) < limit and (buf := source.read(min(BLOCK, limit - len(part)))):
        part += buf
    return part


def content_md5(data: bytes | bytearray) -> str:
    return base64.b64encode(hashlib.md5(data, usedforsecurity=False).digest()).decode()
