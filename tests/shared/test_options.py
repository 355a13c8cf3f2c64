"""One registry of options: the client and the adapters' settings agree (the docs'
options reference is generated from it: tests/docs/test_site.py)."""

from __future__ import annotations

import inspect

import pytest

from segment_web import Analytics
from segment_web.core.options import CLIENT_OPTIONS, require_option
from segment_web.web.settings import OPTIONS, SegmentSettings, parse_settings


def test_the_client_constructor_has_the_registry_defaults() -> None:
    parameters = inspect.signature(Analytics).parameters
    for option in CLIENT_OPTIONS:
        if option.name != "write_key":
            assert parameters[option.name].default == option.default, option.name
    assert set(parameters) == {option.name for option in CLIENT_OPTIONS}


def test_settings_fields_are_the_registry() -> None:
    defaults = SegmentSettings()
    assert [f for f in inspect.signature(SegmentSettings).parameters] == [o.name for o in OPTIONS]
    for option in OPTIONS:
        assert getattr(defaults, option.name) == option.default, option.name


@pytest.mark.parametrize("flush_at", [0, -3])
def test_flush_at_below_one_becomes_one_everywhere(flush_at: int) -> None:
    settings, problems = parse_settings({"write_key": "k", "flush_at": flush_at})
    assert problems == []
    assert settings.flush_at == 1
    assert require_option("flush_at", flush_at) == 1
    client = Analytics("k", flush_at=flush_at, enable=False)
    assert client.flush_at == 1
    client.shutdown()
