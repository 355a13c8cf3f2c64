from __future__ import annotations

from tests.identity.drivers import ADAPTERS
from tests.support.adapter_suite import adapter_fixture

adapter = adapter_fixture(ADAPTERS)
