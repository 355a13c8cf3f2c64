from __future__ import annotations

from tests.support.adapter_suite import adapter_fixture
from tests.tenants.drivers import ADAPTERS

adapter = adapter_fixture(ADAPTERS)
