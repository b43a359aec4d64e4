"""The task chain: the layers around ``SqlTaskRepo``, one module a layer as for images (built
by ``imgreg.layers.build_task_repo``).

Outer to inner, as for images: authorization → notifier → policy → ``SqlTaskRepo`` (property
protection, quota and location have nothing to guard here). The import flow records its own
tasks through ``build_internal_task_repo``, the notifier alone over the database: Glance's
import runs for any user allowed to import, not only for those the tasks API admits.
"""
