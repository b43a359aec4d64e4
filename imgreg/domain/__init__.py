"""The image domain: plain objects, the status table, and the errors layers may raise."""
