"""The metadef repositories: rows of the ``metadef_*`` tables to and from domain objects."""
