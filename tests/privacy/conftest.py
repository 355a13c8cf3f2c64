from __future__ import annotations

from tests.privacy.drivers import ADAPTERS
from tests.support.adapter_suite import adapter_fixture

adapter = adapter_fixture(ADAPTERS)
