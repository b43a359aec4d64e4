"""Data integrity: the CRC-32 and multihash taken while bytes stream, the checks of stored
blobs against them, and the format inspection of uploads."""
