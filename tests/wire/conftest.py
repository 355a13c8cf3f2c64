"""The wire format: ids, JSON backends, values, the request body.

The client fixtures come from tests/support/client_fixtures.py."""

from tests.support.client_fixtures import *  # noqa: F403 (the fixtures, by __all__)
