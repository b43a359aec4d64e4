"""``[glance_store]`` (Glance's group and option names): which store new images go to, and the
options of each store: filesystem, Swift, S3 and RBD."""

from __future__ import annotations

from oslo_config import cfg

multistore_opts = [
    cfg.DictOpt(
        "enabled_backends",
        help="Several stores, as Glance: 'id:type,id:type' (types: file, swift, s3, rbd), each "
        "configured in a section named by its id (the [glance_store] options of its type, "
        "plus store_description and weight). Unset: one store, [glance_store] default_store.",
    ),
]

store_opts = [
    cfg.StrOpt(
        "default_store",
        default="file",
        help="Name of the store new images go to: file, swift, s3 or rbd (one store; with "
        "enabled_backends, default_backend says which).",
    ),
    cfg.StrOpt(
        "default_backend",
        help="With enabled_backends: the id of the store new images go to when the caller "
        "names none.",
    ),
    cfg.StrOpt(
        "filesystem_store_datadir",
        default="$state_path/images",
        help="Directory of the filesystem store.",
    ),
    cfg.BoolOpt(
        "filesystem_store_drop_cache",
        default=False,
        help="Drop what an upload wrote from the page cache once it is on disk (every 32 MiB, "
        "as Swift's object server does): a large upload then neither evicts what the node "
        "reads often nor claims fresh memory block after block, but the first download of the "
        "image reads it from the disk. Off by default, as in Glance: a new image is often "
        "downloaded right after its upload.",
    ),
    cfg.BoolOpt(
        "filesystem_store_direct_io",
        default=True,
        help="Write uploads with O_DIRECT, past the page cache, where the filesystem allows it "
        "(tmpfs does not: there the upload is written as without this option). On a VM, writing "
        "into fresh page-cache pages cost 2-3 s of CPU per GiB, most of an upload's kernel time; "
        "a direct write from a reused buffer costs a tenth of that. The file's fsync and rename "
        "are the same either way. The image is then not in the page cache after its upload: its "
        "first download reads it from the disk (docs/performance.md).",
    ),
    # The Swift store (imgreg/store/swift.py); Glance's names. Only the auth version's
    # default differs: Glance's "2" (Keystone v2.0) no longer exists.
    cfg.StrOpt(
        "swift_store_auth_address",
        help="Swift's auth URL: Keystone's (http://keystone:5000/v3) for auth version 3, "
        "the proxy's /auth/v1.0 for tempauth (version 1).",
    ),
    cfg.StrOpt(
        "swift_store_auth_version",
        default="3",
        choices=["1", "3"],
        help="1: tempauth/swauth (user and key as the proxy knows them); 3: Keystone v3 "
        "(users and projects in the domain 'default').",
    ),
    cfg.StrOpt(
        "swift_store_user",
        help="Who imgreg stores images as: 'project:user' for Keystone, 'account:user' for "
        "tempauth.",
    ),
    cfg.StrOpt("swift_store_key", secret=True, help="swift_store_user's password or key."),
    cfg.StrOpt(
        "swift_store_container",
        default="glance",
        help="Container of the images; their segments go to '<container>_segments'.",
    ),
    cfg.BoolOpt(
        "swift_store_create_container_on_put",
        default=False,
        help="Create both containers when the first image is stored, if they are missing.",
    ),
    cfg.IntOpt(
        "swift_store_large_object_size",
        default=5 * 1024,
        min=1,
        help="Images of this many MiB or more, and images of unknown size, are stored as "
        "segments plus a static large object (SLO) manifest; smaller ones as one object.",
    ),
    cfg.IntOpt(
        "swift_store_large_object_chunk_size",
        default=200,
        min=1,
        help="Size of each segment of a large image, in MiB.",
    ),
    # The S3 store (imgreg/store/s3.py); Glance's names and defaults. Unlike Glance, blob URLs
    # (s3://<bucket>/<image-id>) never hold the keys, so changing them moves no image.
    cfg.StrOpt(
        "s3_store_host",
        help="The S3 endpoint: a URL (https://s3.example.com:8080) or a host[:port] (http).",
    ),
    cfg.StrOpt(
        "s3_store_region_name",
        default="",
        help="Region the requests are signed for; empty: us-east-1 (Swift's s3api, Ceph RGW "
        "and MinIO accept it unless configured otherwise).",
    ),
    cfg.StrOpt("s3_store_access_key", secret=True, help="Access key imgreg stores images as."),
    cfg.StrOpt("s3_store_secret_key", secret=True, help="s3_store_access_key's secret key."),
    cfg.StrOpt("s3_store_bucket", help="Bucket of the images."),
    cfg.BoolOpt(
        "s3_store_create_bucket_on_put",
        default=False,
        help="Create the bucket when an image is stored, if it is missing.",
    ),
    cfg.StrOpt(
        "s3_store_bucket_url_format",
        default="auto",
        choices=["auto", "virtual", "path"],
        help="Addressing: 'path' (http://host/bucket/key: s3api, MinIO and RGW without "
        "wildcard DNS), 'virtual' (http://bucket.host/key) or 'auto' (virtual for AWS, path "
        "for an IP address; botocore's rule).",
    ),
    cfg.IntOpt(
        "s3_store_large_object_size",
        default=100,
        min=1,
        help="Images of this many MiB or more, and images of unknown size longer than one "
        "part, are multipart uploads; smaller ones are one PUT.",
    ),
    cfg.IntOpt(
        "s3_store_large_object_chunk_size",
        default=10,
        min=1,
        help="Size of each part of a multipart upload, in MiB. AWS and Swift's s3api refuse "
        "parts under 5 MiB (but the last); S3 allows 10,000 parts, so this bounds an image to "
        "10,000 times it.",
    ),
    cfg.IntOpt(
        "s3_store_thread_pools",
        default=2,
        min=1,
        help="Parts of one multipart upload sent at once; each holds a part in memory while "
        "the next is read (Glance's default is 10).",
    ),
    cfg.StrOpt(
        "s3_store_cacert",
        default="",
        help="CA bundle to verify the endpoint's certificate with; empty: botocore's.",
    ),
    # The RBD store (imgreg/store/rbd.py); Glance's names and layout (an RBD image named by
    # the image id with a protected snapshot "snap"). Only rados_connect_timeout's default
    # differs: Glance's 0 (wait for ever) would hang every upload while the monitors are down.
    cfg.StrOpt("rbd_store_pool", default="images", help="RADOS pool of the images."),
    cfg.StrOpt(
        "rbd_store_user",
        default="",
        help="Ceph client imgreg connects as (without 'client.'); empty: librados's default.",
    ),
    cfg.StrOpt(
        "rbd_store_ceph_conf",
        default="",
        help="ceph.conf to read (monitors, keyring); empty: librados's search path.",
    ),
    cfg.IntOpt(
        "rbd_store_chunk_size",
        default=8,
        min=1,
        max=32,
        help="Size of the RADOS objects an image is striped over, in MiB (a power of 2).",
    ),
    cfg.IntOpt(
        "rados_connect_timeout",
        default=30,
        min=1,
        help="Seconds to wait for the cluster when connecting (and the health check).",
    ),
    cfg.BoolOpt(
        "rbd_thin_provisioning",
        default=False,
        help="Skip writing blocks of zeros on upload: they stay unallocated in the RBD image.",
    ),
]

# In each section of enabled_backends, beside the options of its type.
backend_opts = [
    cfg.StrOpt("store_description", default="", help="What /v2/info/stores says of the store."),
    cfg.IntOpt(
        "weight",
        default=0,
        help="Downloads read the copy in the store of highest weight first (then in the "
        "order the copies were made).",
    ),
]
