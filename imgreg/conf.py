"""Every configuration option imgreg reads, and ``list_opts()`` for oslo-config-generator.

Nothing else in imgreg declares options or reads configuration files; code receives the
``cfg.ConfigOpts`` object (usually ``imgreg.conf.CONF``) and looks values up on it.
"""

from __future__ import annotations

import oslo_messaging
from oslo_config import cfg
from oslo_messaging import opts as messaging_opts
from oslo_middleware.healthcheck import opts as healthcheck_opts

CONF = cfg.ConfigOpts()

DISK_FORMATS = ["ami", "ari", "aki", "vhd", "vhdx", "vmdk", "raw", "qcow2", "vdi", "iso", "ploop"]
CONTAINER_FORMATS = ["ami", "ari", "aki", "bare", "ovf", "ova", "docker", "compressed"]

server_opts = [
    cfg.HostAddressOpt("bind_host", default="127.0.0.1", help="Address imgreg-api listens on."),
    cfg.PortOpt("bind_port", default=9292, help="Port imgreg-api listens on."),
    cfg.IntOpt("workers", default=2, min=1, help="Worker processes of imgreg-api."),
    cfg.IntOpt(
        "threads",
        default=8,
        min=1,
        help="Threads per worker; a slow client ties up one thread, not a whole worker.",
    ),
    cfg.IntOpt(
        "client_socket_timeout",
        default=900,
        min=1,
        help="Seconds a client connection may stay silent (no byte read or written) before "
        "the server drops it; an upload cut this way is rolled back.",
    ),
    cfg.IntOpt(
        "client_header_timeout",
        default=60,
        min=1,
        help="Seconds a client has to send a request's line and headers, from the moment it "
        "connects (on a kept-alive connection, from the request's first byte); one that is "
        "silent or drips them more slowly is disconnected. Until its headers are complete a "
        "connection holds no request thread.",
    ),
    cfg.IntOpt(
        "client_body_timeout",
        default=60,
        min=1,
        help="Seconds a request body (an upload) may stay silent before the server drops the "
        "connection and rolls the upload back (nginx's name for the same limit); at most "
        "client_socket_timeout. A request waiting for body bytes holds a thread but none of "
        "the 'threads' slots other requests run in.",
    ),
    cfg.IntOpt(
        "worker_connections",
        default=2048,
        min=16,
        help="Most client connections one worker process holds at once (idle, sending their "
        "headers, or being served); past it the worker stops accepting until one closes. "
        "Lowered at start-up to fit the open-file limit, whose soft value imgreg-api raises "
        "to the hard one.",
    ),
    cfg.IntOpt(
        "keepalive_timeout",
        default=75,
        min=0,
        help="Seconds an idle kept-alive connection waits for its next request (it holds no "
        "thread meanwhile); 0 closes every connection after one response.",
    ),
    cfg.IntOpt(
        "max_request_line",
        default=8190,
        min=64,
        max=8190,
        help="Longest request line (method, path and query) in bytes; longer ones get 414.",
    ),
    cfg.IntOpt(
        "max_header_line",
        default=16384,
        min=256,
        help="Longest request header line in bytes (a Keystone token fits in 16 KiB); longer "
        "ones get 431.",
    ),
    cfg.IntOpt(
        "max_header_count",
        default=100,
        min=10,
        max=32768,
        help="Most header lines in one request; more get 431.",
    ),
    cfg.IntOpt(
        "max_request_body_size",
        default=1048576,
        min=1024,
        help="Largest JSON request body in bytes (every body except image data); larger ones "
        "get 413 before they are read.",
    ),
    cfg.StrOpt(
        "state_path",
        default="var",
        help="Directory for the embedded defaults (SQLite file, filesystem store); relative "
        "paths are taken from the current directory.",
    ),
    cfg.StrOpt(
        "public_endpoint",
        help="Base URL advertised in the versions document and Location headers; the "
        "request's host URL when unset.",
    ),
    cfg.IntOpt("max_request_id_length", default=64, min=1, help="Longest accepted request id."),
]

image_opts = [
    cfg.BoolOpt(
        "allow_additional_image_properties",
        default=True,
        help="Accept properties not in the image schema (as strings). When false the served "
        "schema is strict (additionalProperties false).",
    ),
    cfg.StrOpt(
        "hashing_algorithm",
        default="sha512",
        help="hashlib algorithm for os_hash_value.",
    ),
    cfg.IntOpt("image_size_cap", default=1099511627776, min=1, help="Largest image in bytes."),
    cfg.StrOpt(
        "user_storage_quota",
        default="0",
        help="Bytes one owner may store in all; suffixes B, KB, MB, GB, TB (binary). 0 means "
        "unlimited.",
    ),
    cfg.IntOpt(
        "max_property_value_bytes",
        default=65535,
        min=1,
        help="Longest value of one image property, in bytes of UTF-8 (65535 fits every "
        "supported database's TEXT column); longer values get 400.",
    ),
    cfg.IntOpt("image_property_quota", default=128, help="Extra properties per image; <0 off."),
    cfg.IntOpt("image_tag_quota", default=128, help="Tags per image; <0 off."),
    cfg.IntOpt("image_member_quota", default=128, help="Members per image; <0 off."),
    cfg.IntOpt("image_location_quota", default=10, help="Locations per image; <0 off."),
    cfg.IntOpt(
        "image_count_quota",
        default=-1,
        help="Images one owner (project) may have, counting every image not deleted (what "
        "Glance's unified limit image_count_total counts); a create over it gets 413. <0 off.",
    ),
    cfg.IntOpt("limit_param_default", default=25, min=1, help="Default page size of lists."),
    cfg.IntOpt("api_limit_max", default=1000, min=1, help="Largest page size of lists."),
    cfg.IntOpt(
        "download_verify_interval",
        default=900,
        min=0,
        help="Seconds for which a blob stays trusted after it was written or last read back "
        "in full and matched its CRC-32: a whole download of an unmodified file within that "
        "time is sent (sendfile) without being read first. 0 checks every download. "
        "Corruption that does not change the file's mtime is found by the next check after "
        "this interval, or by `imgreg-manage check`.",
    ),
    cfg.BoolOpt(
        "delayed_delete",
        default=False,
        help="Deleting an active image marks it pending_delete and keeps its data until "
        "`imgreg-manage scrub` removes it.",
    ),
    cfg.IntOpt(
        "scrub_time",
        default=0,
        min=0,
        help="Seconds a pending_delete image's data is kept before scrub removes it.",
    ),
    cfg.IntOpt(
        "upload_lease_seconds",
        default=60,
        min=1,
        help="An image stays 'saving' only while its upload holds a lease in the database, "
        "renewed every third of this while data arrives. When it expires (a killed worker, a "
        "client silent that long), the reaper (at start-up, every upload_reaper_interval and "
        "in `imgreg-manage scrub`) puts the image back to queued and removes its data; "
        "partial files older than this are removed too.",
    ),
    cfg.FloatOpt(
        "upload_reaper_interval",
        min=0,
        help="Seconds between two runs of the reaper inside the server (every worker process "
        "keeps a timer; a lock row in the database lets one process on one node at a time "
        "sweep, a period after the last sweep anywhere), so an upload whose worker was killed "
        "is back to queued within about upload_lease_seconds plus this, without a restart. "
        "Unset: half of upload_lease_seconds. 0: only at start-up and `imgreg-manage scrub`.",
    ),
    cfg.StrOpt("property_protection_file", help="Glance-format property protection rules."),
    cfg.StrOpt(
        "property_protection_rule_format",
        default="roles",
        choices=["roles", "policies"],
        help="Whether the protection file names roles or policy rules.",
    ),
    cfg.StrOpt(
        "metadata_source_path",
        default="/etc/imgreg/metadefs/",
        help="Directory of metadata definition (metadefs) JSON files, in Glance's format: "
        "`imgreg-manage db load_metadefs` reads them and `db export_metadefs` writes them "
        "when no --path is given.",
    ),
    cfg.StrOpt(
        "image_schema_file",
        default="schema-image.json",
        help="Custom image properties merged into the image schema; looked up beside the "
        "configuration files when relative. A missing file means no custom properties.",
    ),
]

paste_opts = [
    cfg.StrOpt("flavor", default="", help="Pipeline suffix: '' (noauth) or 'keystone'."),
    cfg.StrOpt("config_file", default="imgreg-api-paste.ini", help="The paste-deploy file."),
]

database_opts = [
    cfg.StrOpt(
        "connection",
        default="sqlite:///$state_path/imgreg.sqlite",
        secret=True,
        help="SQLAlchemy URL of the database.",
    ),
]

store_opts = [
    cfg.StrOpt("default_store", default="file", help="Name of the store new images go to."),
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

format_opts = [
    cfg.ListOpt("disk_formats", default=DISK_FORMATS, help="Accepted disk formats."),
    cfg.ListOpt("container_formats", default=CONTAINER_FORMATS, help="Accepted container formats."),
    cfg.BoolOpt(
        "require_image_format_match",
        default=True,
        help="Refuse (415) an upload whose content is not of its disk_format. Safety checks "
        "of the detected format stay fatal when this is off.",
    ),
    cfg.ListOpt(
        "gpt_safety_checks_nonfatal",
        default=["mbr"],
        help="gpt safety checks whose failure is only logged.",
    ),
    cfg.ListOpt(
        "vmdk_allowed_types",
        default=["streamOptimized", "monolithicSparse"],
        help="vmdk create types accepted on upload; the inspector itself accepts only these "
        "two, so this can narrow the list but not widen it.",
    ),
    cfg.IntOpt(
        "max_virtual_size",
        default=1 << 50,
        min=1,
        help="Largest virtual size in bytes (1 PiB by default) an image header may claim; "
        "above it an upload is refused (413). The value is untrusted header data, never used "
        "to allocate anything.",
    ),
]

notification_opts = [
    cfg.StrOpt(
        "default_publisher_id",
        default="image.localhost",
        help="publisher_id of the notifications imgreg sends.",
    ),
    cfg.ListOpt(
        "disabled_notifications",
        default=[],
        help="Notifications not to send: an event type (image.update) or a group, as Glance "
        "writes it (image) or as a pattern (image.*).",
    ),
]

# Where notifications go is oslo.messaging's own configuration, as in Glance:
# [oslo_messaging_notifications] driver (messagingv2, messaging, log, routing, test, noop; and
# imgreg's in-process ``memory``), transport_url (else [DEFAULT] transport_url), topics, retry.
# They are registered up front so the notifier can read them before it builds a transport;
# oslo-config-generator lists them under the oslo.messaging namespace.
MESSAGING_GROUP = "oslo_messaging_notifications"
# Glance's exchange, so consumers written for Glance (Ceilometer, indexers) hear imgreg too.
oslo_messaging.set_transport_defaults(control_exchange="glance")

# GET /healthcheck is oslo.middleware's healthcheck app (mounted beside the API by the paste
# composite, so it needs no token), configured by [healthcheck] here, with imgreg's defaults:
# the readiness check (imgreg.server.health: database and store answer) and a drain file whose
# presence answers 503 while the API itself keeps serving.
cfg.set_defaults(healthcheck_opts.HEALTHCHECK_OPTS, backends=["disable_by_file", "imgreg"])
cfg.set_defaults(
    healthcheck_opts.DISABLE_BY_FILE_OPTS, disable_by_file_path="$state_path/healthcheck_disable"
)

GROUPS = {
    None: server_opts + image_opts + notification_opts,
    "paste_deploy": paste_opts,
    "database": database_opts,
    "glance_store": store_opts,
    "image_format": format_opts,
    "healthcheck": healthcheck_opts.HEALTHCHECK_OPTS + healthcheck_opts.DISABLE_BY_FILE_OPTS,
}


def register(conf: cfg.ConfigOpts) -> cfg.ConfigOpts:
    for group, opts in GROUPS.items():
        conf.register_opts(opts, group=group)
    conf.register_opts(dict(messaging_opts.list_opts())[MESSAGING_GROUP], group=MESSAGING_GROUP)
    return conf


def list_opts() -> list[tuple[str | None, list[cfg.Opt]]]:
    """For oslo-config-generator (namespace ``imgreg``)."""
    return [(group, list(opts)) for group, opts in GROUPS.items()]  # type: ignore[call-overload]


def parse(args: list[str] | None = None, conf: cfg.ConfigOpts = CONF) -> cfg.ConfigOpts:
    conf(args=args if args is not None else [], project="imgreg", prog="imgreg-api")
    return conf


def find_config_file(conf: cfg.ConfigOpts, name: str) -> str | None:
    """Resolve ``name`` against the directories of the loaded configuration files."""
    import os

    if os.path.isabs(name):
        return name if os.path.exists(name) else None
    for path in conf.config_file or []:
        candidate = os.path.join(os.path.dirname(os.path.abspath(path)), name)
        if os.path.exists(candidate):
            return candidate
    found = conf.find_file(name)
    return os.path.abspath(found) if found else None


register(CONF)
