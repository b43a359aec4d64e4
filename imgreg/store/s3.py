"""The S3 store (boto3): one object per image, written by one PUT or by a multipart upload.

Layout, with ``B`` = ``s3_store_bucket``: ``B/<image-id>``, whatever way it was written; a
multipart upload in flight (or abandoned by a killed process) is listed by S3's
ListMultipartUploads, and is what ``list_partials`` reports as ``<image-id>.<upload-id>``.

An image of known size under ``s3_store_large_object_size`` is one PUT of that length, streamed:
S3 makes an object visible only when its PUT completes, so a source that fails or runs short
leaves nothing, and the last block is held back until the source is known to end there (so a
source that runs long fails before the server has every byte). Other images are read one part
(``s3_store_large_object_chunk_size``) at a time: a first part that holds all the data is one
PUT, else the parts go up in a multipart upload (``imgreg.store.s3_multipart``), completed at
the source's end or aborted on any failure. Everything read is hashed on the way
(``DualHasher``); S3 checks each part against its Content-MD5 and a single PUT's ETag against
the md5 (unless the object is KMS-encrypted, whose ETag is no md5).

Bodies are sent with ``UNSIGNED-PAYLOAD`` even over http: a signed payload would have to be read
twice, and Swift's s3api does not take aws-chunked bodies. Checksums that botocore would add by
itself are off for the same reason.
"""

from __future__ import annotations

import contextlib
import logging
import re
import uuid
from collections.abc import Iterator
from typing import Any, BinaryIO

import boto3
import botocore.config
import botocore.exceptions
from oslo_config import cfg

from imgreg.domain import errors
from imgreg.integrity.hashing import DualHasher
from imgreg.store import PartialFile, StoredBlob, register
from imgreg.store.s3_body import Body, read_block
from imgreg.store.s3_errors import FULL, code, translated
from imgreg.store.s3_multipart import GONE, MultipartUpload, content_md5, read_part
from imgreg.store.source import BLOCK, Source, is_uuid

__all__ = ["FULL", "PARTIAL", "SCHEME", "Body", "S3Reader", "S3Store"]

LOG = logging.getLogger(__name__)

MiB = 1024 * 1024
SCHEME = "s3://"
TIMEOUT = 60.0  # seconds any one socket operation may take
CONNECT_TIMEOUT = 10.0
PARTIAL = re.compile(
    r"(?P<key>[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\.(?P<upload>[\w.~=+-]+)\Z"
)


class S3Reader:
    """``size`` bytes of a GET's body, in blocks; a body that ends early is a store error."""

    def __init__(self, body: Any, size: int) -> None:
        self.body = body
        self.size = size

    def __iter__(self) -> Iterator[bytes]:
        remaining = self.size
        if self.body is not None:
            with translated("read the data"):
                for chunk in self.body.iter_chunks(BLOCK):
                    remaining -= len(chunk)
                    yield chunk
        if remaining > 0:
            raise errors.StoreError("Image data is shorter than recorded")

    def close(self) -> None:
        if self.body is not None:
            self.body.close()


@register("s3")
class S3Store:
    def __init__(self, conf: cfg.ConfigOpts) -> None:
        opts = conf.glance_store
        if not (opts.s3_store_host and opts.s3_store_bucket and opts.s3_store_access_key):
            raise ValueError("the s3 store needs s3_store_host, s3_store_bucket and keys")
        host = opts.s3_store_host
        self.bucket = opts.s3_store_bucket
        self.region = opts.s3_store_region_name or "us-east-1"
        self.create_bucket = opts.s3_store_create_bucket_on_put
        self.large_size = opts.s3_store_large_object_size * MiB
        self.part_size = opts.s3_store_large_object_chunk_size * MiB
        self.threads = opts.s3_store_thread_pools
        session = boto3.session.Session(
            aws_access_key_id=opts.s3_store_access_key,
            aws_secret_access_key=opts.s3_store_secret_key,
        )

        def client(attempts: int) -> Any:
            config = botocore.config.Config(
                region_name=self.region,
                connect_timeout=CONNECT_TIMEOUT,
                read_timeout=TIMEOUT,
                retries={"mode": "standard", "max_attempts": attempts},
                max_pool_connections=max(10, 4 * self.threads),
                s3={
                    "addressing_style": opts.s3_store_bucket_url_format,
                    "payload_signing_enabled": False,
                },
                request_checksum_calculation="when_required",
                response_checksum_validation="when_required",
            )
            return session.client(
                "s3",
                endpoint_url=host if "://" in host else f"http://{host}",
                verify=opts.s3_store_cacert or None,
                config=config,
            )

        self.client = client(3)  # requests that can be repeated
        self.once = client(1)  # streamed bodies (cannot be sent again) and the health check

    def _key(self, url: str) -> str:
        """The key of ``url``; only ``s3://<bucket>/<uuid>`` is accepted."""
        prefix = f"{SCHEME}{self.bucket}/"
        key = url[len(prefix) :] if url.startswith(prefix) else ""
        if not is_uuid(key):
            raise errors.NotFound("Image data not found")
        return key

    def blob_id(self, url: str) -> str:
        return self._key(url)

    # -- Store ----------------------------------------------------------------------------------
    def add(
        self, image_id: str, stream: BinaryIO, expected_size: int | None, hash_algo: str
    ) -> StoredBlob:
        key = str(uuid.UUID(image_id))
        with DualHasher(hash_algo) as hasher:
            source = Source(stream, expected_size, hasher)
            try:
                with translated("write the data"):
                    self._prepare_bucket()
                    if expected_size is not None and expected_size < self.large_size:
                        self._put_streamed(key, source, hasher)
                    else:
                        self._put_parts(key, source)
                        hasher.close()
            except BaseException as exc:
                if source.error is not None and source.error is not exc:
                    raise source.error from None
                raise
        return StoredBlob(
            url=f"{SCHEME}{self.bucket}/{key}",
            size=source.size,
            checksum=hasher.md5.hexdigest(),
            hash_algo=hash_algo,
            hash_value=hasher.multi.hexdigest(),
            crc32=hasher.crc32,
        )

    def _prepare_bucket(self) -> None:
        if not self.create_bucket:
            return  # a missing bucket fails the PUT
        try:
            self.client.head_bucket(Bucket=self.bucket)
        except botocore.exceptions.ClientError as exc:
            if code(exc) not in GONE:
                raise
            options = {}
            if self.region != "us-east-1":
                options["CreateBucketConfiguration"] = {"LocationConstraint": self.region}
            with contextlib.suppress(self.client.exceptions.BucketAlreadyOwnedByYou):
                self.client.create_bucket(Bucket=self.bucket, **options)

    def _put_streamed(self, key: str, source: Source, hasher: DualHasher) -> None:
        """One PUT of ``source.expected`` bytes; repeatable (bytes) when they fit one block."""
        first = read_block(source)
        if source.size == source.expected:
            put = self.client.put_object(
                Bucket=self.bucket, Key=key, Body=first, ContentMD5=content_md5(first)
            )
        else:
            put = self.once.put_object(
                Bucket=self.bucket, Key=key, Body=Body(source, first), ContentLength=source.expected
            )
        hasher.close()
        etag = put["ETag"].strip('"')
        if put.get("ServerSideEncryption") != "aws:kms" and etag != hasher.md5.hexdigest():
            self._discard(key)
            raise errors.StoreError("The image store stored corrupt data")

    def _put_parts(self, key: str, source: Source) -> None:
        part = read_part(source, self.part_size)
        if len(part) < self.part_size:  # all of it: no multipart upload for one part
            md5 = content_md5(part)
            self.client.put_object(Bucket=self.bucket, Key=key, Body=part, ContentMD5=md5)
            return
        upload = MultipartUpload(self.client, self.bucket, key, self.part_size, self.threads)
        upload.run(source, part)

    def _discard(self, key: str) -> None:
        try:
            self.client.delete_object(Bucket=self.bucket, Key=key)
        except Exception as exc:
            LOG.warning("s3: could not delete %s: %s", key, exc)

    def open(self, url: str, offset: int = 0, length: int | None = None) -> S3Reader:
        key = self._key(url)
        if length == 0:
            return S3Reader(None, 0)
        extra = {}
        if offset or length is not None:
            end = "" if length is None else str(offset + length - 1)
            extra["Range"] = f"bytes={offset}-{end}"
        try:
            with translated("read the data", passing={"InvalidRange"} | GONE):
                got = self.client.get_object(Bucket=self.bucket, Key=key, **extra)
        except botocore.exceptions.ClientError as exc:
            if code(exc) != "InvalidRange":
                raise errors.NotFound("Image data not found") from None
            return S3Reader(None, length or 0)  # all of it lies past the end
        size = got["ContentLength"] if length is None else length
        return S3Reader(got["Body"], size)

    def delete(self, url: str) -> None:
        key = self._key(url)
        with translated("delete the data", ignoring=GONE):
            self.client.delete_object(Bucket=self.bucket, Key=key)

    def list_blobs(self) -> list[str]:
        """URLs of every object named by a UUID in the bucket."""
        keys = [
            o["Key"] for page in self._pages("list_objects_v2") for o in page.get("Contents", [])
        ]
        return sorted(f"{SCHEME}{self.bucket}/{key}" for key in keys if is_uuid(key))

    def list_partials(self) -> list[PartialFile]:
        """Multipart uploads not completed nor aborted; their time is their newest part's."""
        found = []
        for page in self._pages("list_multipart_uploads"):
            for upload in page.get("Uploads", []):
                key, upload_id = upload["Key"], upload["UploadId"]
                if is_uuid(key) and PARTIAL.match(f"{key}.{upload_id}"):
                    times = [upload["Initiated"].timestamp()]
                    parts = self._pages("list_parts", Key=key, UploadId=upload_id)
                    times += [
                        p["LastModified"].timestamp()
                        for page in parts
                        for p in page.get("Parts", [])
                    ]
                    found.append(PartialFile(f"{key}.{upload_id}", key, max(times)))
        return sorted(found, key=lambda partial: partial.name)

    def _pages(self, operation: str, **params: Any) -> list[dict[str, Any]]:
        """Every page of a listing; a missing bucket (or upload) lists nothing."""
        paginator = self.client.get_paginator(operation)
        with translated("list the images", passing=GONE):
            try:
                return list(paginator.paginate(Bucket=self.bucket, **params))
            except botocore.exceptions.ClientError as exc:
                if code(exc) in GONE:
                    return []
                raise

    def delete_partial(self, name: str) -> None:
        match = PARTIAL.match(name)
        if not match:
            raise errors.NotFound("Partial upload not found")
        with translated("delete a partial upload", ignoring=GONE):
            self.client.abort_multipart_upload(
                Bucket=self.bucket, Key=match["key"], UploadId=match["upload"]
            )

    def check(self) -> None:
        """HEAD the bucket: it answers, and exists (or would be created on the first PUT)."""
        try:
            with translated("answer", passing=GONE):
                self.once.head_bucket(Bucket=self.bucket)
        except botocore.exceptions.ClientError as exc:
            if not self.create_bucket:
                LOG.warning("s3: bucket %s is missing: %s", self.bucket, exc)
                raise errors.StoreError("The image store's bucket is missing") from None
