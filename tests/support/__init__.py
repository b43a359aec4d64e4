"""What the tests share that is not a fixture: the test database, the e2e server launcher, the
in-process client, config writers, builders. Fixtures stay in the ``conftest.py`` files and
call these; test modules import from here, never from a ``conftest.py``."""
