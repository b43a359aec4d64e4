"""``[DEFAULT]`` options of the Images API: the image schema and properties, list pages,
hashing and download checks, uploads' leases and the reaper, delayed delete, metadefs."""

from __future__ import annotations

from oslo_config import cfg

image_opts = [
    cfg.BoolOpt(
        "allow_additional_image_properties",
        default=True,
        help="Accept properties not in the image schema (as strings). When false the served "
        "schema is strict (additionalProperties false).",
    ),
    cfg.StrOpt(
        "image_schema_file",
        default="schema-image.json",
        help="Custom image properties merged into the image schema; looked up beside the "
        "configuration files when relative. A missing file means no custom properties.",
    ),
    cfg.IntOpt(
        "max_property_value_bytes",
        default=65535,
        min=1,
        help="Longest value of one image property, in bytes of UTF-8 (65535 fits every "
        "supported database's TEXT column); longer values get 400.",
    ),
    cfg.StrOpt("property_protection_file", help="Glance-format property protection rules."),
    cfg.StrOpt(
        "property_protection_rule_format",
        default="roles",
        choices=["roles", "policies"],
        help="Whether the protection file names roles or policy rules.",
    ),
    cfg.IntOpt("limit_param_default", default=25, min=1, help="Default page size of lists."),
    cfg.IntOpt("api_limit_max", default=1000, min=1, help="Largest page size of lists."),
    cfg.StrOpt(
        "hashing_algorithm",
        default="sha512",
        help="hashlib algorithm for os_hash_value.",
    ),
    cfg.BoolOpt(
        "upload_sha256",
        default=True,
        help="Also hash uploaded data with sha-256 (when hashing_algorithm is not sha256), so "
        "that downloads carry a Repr-Digest (RFC 9530) a client can check with sha256sum as "
        "well as the sha-512 of os_hash_value. Costs about 0.6 s of CPU per GiB uploaded "
        "(with the CPU's SHA extensions), on a thread beside the other hashes.",
    ),
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
    cfg.StrOpt(
        "resumable_upload_dir",
        help="Directory for resumable uploads (tus 1.0 on POST /v2/images/{id}/file and "
        "/stage with a Tus-Resumable header): the bytes received so far, fsynced, until the "
        "last one arrives and the data goes through the normal upload. Every node behind a "
        "balancer must share it. Unset: resumable uploads are off (those requests get what "
        "they get from Glance).",
    ),
    cfg.BoolOpt(
        "resumable_interim_responses",
        default=True,
        help="Send the IETF resumable uploads draft's '104 Upload Resumption Supported' (the "
        "upload's URL, before its body is read) to clients that send "
        "Upload-Draft-Interop-Version, under imgreg-api. Turn off behind a proxy that does "
        "not pass 1xx responses on as interim ones (nginx treats them as final; or strip the "
        "request header there: docs/deploy.md).",
    ),
    cfg.IntOpt(
        "resumable_upload_expiry",
        default=86400,
        min=1,
        help="Seconds a resumable upload session lives after its last chunk; then the reaper "
        "deletes it and its data (Upload-Expires tells the client when).",
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
    # Locations: Glance's names and defaults (both off: a location tells a caller where the
    # data is, which a file:// or rbd:// URL says more of than most users should know).
    cfg.BoolOpt(
        "show_image_direct_url",
        default=False,
        help="Show an image's first location as 'direct_url' (Nova and Cinder on Ceph need it "
        "to clone images instead of copying them; it reveals the store's layout to every "
        "user who can see the image).",
    ),
    cfg.BoolOpt(
        "show_multiple_locations",
        default=False,
        deprecated_for_removal=True,
        deprecated_reason="Glance's legacy location API: the 2.17 /v2/images/{id}/locations "
        "calls (service role) replace it.",
        help="Show every location ('locations') and let callers change them with PATCH "
        "/locations (add, replace, remove), as Glance's legacy location API.",
    ),
    cfg.IntOpt(
        "image_location_quota",
        default=10,
        min=-1,
        help="Most locations an image may have; -1: no limit.",
    ),
    cfg.BoolOpt(
        "do_secure_hash",
        default=True,
        help="Compute the checksum and multihash of an image whose location is added with "
        "POST /v2/images/{id}/locations, in the background, as Glance does.",
    ),
    cfg.StrOpt(
        "metadata_source_path",
        default="/etc/imgreg/metadefs/",
        help="Directory of metadata definition (metadefs) JSON files, in Glance's format: "
        "`imgreg-manage db load_metadefs` reads them and `db export_metadefs` writes them "
        "when no --path is given.",
    ),
]
