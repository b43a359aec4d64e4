"""The metadefs API: ``/v2/metadefs/...`` and ``/v2/schemas/metadefs/...``."""
