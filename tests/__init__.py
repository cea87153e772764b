"""The test suite: a package, so tests import `tests.helpers`, `tests.fakes`."""
