"""imgreg: an image registry that speaks the OpenStack Glance Images API v2."""
