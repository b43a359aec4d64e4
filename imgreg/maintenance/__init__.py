"""Housekeeping outside the request path: the reaper of dead uploads and its timer, the
scrubber of delayed deletes, and the invariant check of ``imgreg-manage check``."""
