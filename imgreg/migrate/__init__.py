"""Adopting a running Glance: ``imgreg-manage import-glance`` (``imgreg.cmd.import_glance``)."""
