"""Console entry points: each one's module is imported from here, so every imgreg command
(imgreg-api's master and workers, imgreg-manage) exits without a last walk of its heap
(``fast_exit``)."""

from imgreg.cmd import fast_exit

fast_exit.install()
