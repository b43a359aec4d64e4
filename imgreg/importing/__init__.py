"""Interoperable image import (Glance's ``POST /v2/images/{id}/import``) and the legacy
``import`` task: what an import fetches (``web``), what its plugins do to the data
(``plugins``), and the flow that drives the upload session and the task record."""
