"""An exit that does not walk the whole heap.

When the interpreter finalizes, it runs the cyclic garbage collector over every object still
alive: with the application loaded (SQLAlchemy's mappers, the schemas, the routes, the policy
rules) that is about half a second of CPU, in the master and in every worker, each time
imgreg-api stops or restarts, and a good part of a short ``imgreg-manage`` command.

``install()`` registers, before anything else registers its own, an ``atexit`` handler that
moves every object into the collector's permanent generation (``gc.freeze``). ``atexit``
runs its handlers last-registered first, so this one runs after every other (logging's
flush and close, oslo's): what they release still goes as before. Objects are still freed
by their reference counts as the modules are torn down; what is skipped is only the search for
cycles among objects that the process would give back to the kernel a moment later. So an
object kept alive by a cycle alone is not finalized: what it holds (a pooled database
connection, a socket) is closed by the kernel as the process ends. A worker's pooled
connections are not disposed before it exits: MariaDB counted a pymysql connection left that
way as an aborted client with or without this handler (one exit each way: +1 each time).
"""

from __future__ import annotations

import atexit
import gc

_installed = False


def install() -> None:
    """Register the handler once per process (a forked worker inherits it)."""
    global _installed
    if not _installed:
        atexit.register(gc.freeze)
        _installed = True
