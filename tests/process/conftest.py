"""Process-wide state: exit, fork, the registry's hooks.

The client fixtures come from tests/support/client_fixtures.py."""

from tests.support.client_fixtures import *  # noqa: F403 (the fixtures, by __all__)
