"""How much a run does: the full and the --quick sizes, and the fixed concurrencies."""

from __future__ import annotations

from dataclasses import dataclass

MiB = 1 << 20
SEED_CONCURRENCY = 16
CYCLE_CONCURRENCY = 8
CONCURRENT_UPLOADS = 4  # uploads at once in the upload4 phase


@dataclass(frozen=True)
class Sizes:
    images: int  # images seeded before the request phases
    schema: int  # requests per measured run (one run at each concurrency)
    show: int
    list25: int
    list1000: int
    filtered: int
    create: int
    patch: int
    data_mib: int  # size of the big upload/download
    rounds: int  # uploads and downloads of data_mib; the median one is reported
    cycles: int  # create + upload 1 MiB + delete cycles
    run_seconds: float  # a measured run stops issuing requests after this long


FULL = Sizes(
    images=5000,
    schema=1500,
    show=600,
    list25=400,
    list1000=40,
    filtered=400,
    create=300,
    patch=300,
    data_mib=512,
    rounds=3,
    cycles=150,
    run_seconds=30.0,
)
QUICK = Sizes(
    images=150,
    schema=100,
    show=40,
    list25=30,
    list1000=5,
    filtered=30,
    create=30,
    patch=30,
    data_mib=64,
    rounds=2,
    cycles=16,
    run_seconds=5.0,
)
CONCURRENCIES = (1, 16)
