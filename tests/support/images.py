"""Disk image bytes for tests, built in code (no binary files in the repository).

``qcow2()`` is a minimal valid qcow2 v3 (a header and no clusters) followed by any payload;
the other builders make the crafted headers the format inspection tests need.
"""

from __future__ import annotations

import struct

MiB = 1 << 20
QCOW2_HEADER_LENGTH = 104


def qcow2_header(
    virtual_size: int = 64 * MiB, *, backing_file_offset: int = 0, incompatible: int = 0
) -> bytes:
    """A qcow2 v3 header (no L1 table), zero-padded to 512 bytes."""
    header = struct.pack(
        ">4sIQIIQIIQQIIQQQQII",
        b"QFI\xfb",  # magic
        3,  # version
        backing_file_offset,
        0,  # backing_file_size
        16,  # cluster_bits (64 KiB clusters)
        virtual_size,
        0,  # crypt_method
        0,  # l1_size
        0,  # l1_table_offset
        0x10000,  # refcount_table_offset
        1,  # refcount_table_clusters
        0,  # nb_snapshots
        0,  # snapshots_offset
        incompatible,  # incompatible_features
        0,  # compatible_features
        0,  # autoclear_features
        4,  # refcount_order
        QCOW2_HEADER_LENGTH,
    )
    return header.ljust(512, b"\0")


def qcow2(payload: bytes = b"", virtual_size: int = 64 * MiB) -> bytes:
    """A safe qcow2 image: the header, then ``payload`` (the inspector reads only the header)."""
    return qcow2_header(virtual_size) + payload


def with_mbr_signature(data: bytes) -> bytes:
    """``data`` with the MBR boot signature 0x55AA at offset 510 (a gpt/MBR look-alike)."""
    return data[:510] + b"\x55\xaa" + data[512:]


def iso9660(blocks: int = 512, block_size: int = 2048, system_area: bytes = b"") -> bytes:
    """A minimal ISO 9660 image: a system area, a primary volume descriptor ('CD001' at
    32 KiB + 1) and a set terminator, padded to ``blocks * block_size`` bytes."""
    pvd = bytearray(2048)
    pvd[0:7] = b"\x01CD001\x01"
    pvd[80:88] = struct.pack("<I", blocks) + struct.pack(">I", blocks)  # volume space size
    pvd[128:132] = struct.pack("<H", block_size) + struct.pack(">H", block_size)
    terminator = b"\xffCD001\x01".ljust(2048, b"\0")
    data = system_area.ljust(32 * 1024, b"\0") + bytes(pvd) + terminator
    return data.ljust(blocks * block_size, b"\0")


def vmdk_descriptor(create_type: str, extent: str) -> bytes:
    """A text-only vmdk descriptor naming one extent file."""
    return (
        "# Disk DescriptorFile\n"
        "version=1\n"
        "CID=fffffffe\n"
        "parentCID=ffffffff\n"
        f'createType="{create_type}"\n\n'
        "# Extent description\n"
        f'RW 2048 FLAT "{extent}" 0\n\n'
        "# The Disk Data Base\n"
        "#DDB\n\n"
        'ddb.virtualHWVersion = "4"\n'
        'ddb.adapterType = "ide"\n'
    ).encode("ascii")


def mbr(ostype: int = 0x83) -> bytes:
    """A 512-byte MBR with one bootable partition of type ``ostype`` (0: no partition)."""
    entry = struct.pack("<B3BB3BII", 0x80, 0, 2, 0, ostype, 0xFE, 0xFF, 0xFF, 2048, 65536)
    return bytes(446) + (entry if ostype else bytes(16)) + bytes(48) + b"\x55\xaa"


def qed_header() -> bytes:
    return b"QED\0".ljust(512, b"\0")


def luks_header() -> bytes:
    return b"LUKS\xba\xbe\x00\x01".ljust(592, b"\0")


def vmdk_sparse(create_type: str = "monolithicSparse", sectors: int = 2048) -> bytes:
    """A hosted sparse vmdk: the KDMV header, then its descriptor at sector 1."""
    header = struct.pack("<4sIIQQQQIQQ", b"KDMV", 1, 3, sectors, 128, 1, 1, 512, 0, 2)
    descriptor = vmdk_descriptor(create_type, "disk.vmdk").replace(b"FLAT", b"SPARSE")
    return header.ljust(512, b"\0") + descriptor.ljust(512, b"\0") + bytes(MiB)
