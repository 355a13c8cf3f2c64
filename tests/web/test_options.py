"""One registry of options: the client and the adapters' settings agree (the docs'
options reference is generated from it: tests/docs/test_site.py)."""

from __future__ import annotations

import inspect

import pytest

from segment_web import Analytics
from segment_web.core.options import (
    CLIENT_IDENTITY,
    CLIENT_OPTIONS,
    ClientOptions,
    SharedOptions,
    require_option,
)
from segment_web.web.settings import OPTIONS, AdapterOptions, SegmentSettings, parse_settings


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


def test_the_typed_keyword_options_are_the_registry() -> None:
    # Generated like the signatures above: the client's, the adapters' (per-request
    # write_key and host apart), and what they share.
    client = [o.name for o in CLIENT_OPTIONS if o.name != "write_key"]
    assert sorted(ClientOptions.__optional_keys__) == sorted(client)
    assert sorted(AdapterOptions.__optional_keys__) == sorted(
        o.name for o in OPTIONS if o.name != "write_key"
    )
    shared = sorted(SharedOptions.__optional_keys__)
    assert shared == sorted(name for name in client if name not in CLIENT_IDENTITY)
    assert not ClientOptions.__required_keys__ and not AdapterOptions.__required_keys__


def test_the_adapters_choose_the_client_by_the_clients_identity_options() -> None:
    # The options the adapters may take per request are the ones that pick the client.
    per_request = [o.name for o in OPTIONS if o not in CLIENT_OPTIONS and o.name in CLIENT_IDENTITY]
    assert per_request == list(CLIENT_IDENTITY)


@pytest.mark.parametrize("flush_at", [0, -3])
def test_flush_at_below_one_becomes_one_everywhere(flush_at: int) -> None:
    settings, problems = parse_settings({"write_key": "k", "flush_at": flush_at})
    assert problems == []
    assert settings.flush_at == 1
    assert require_option("flush_at", flush_at) == 1
    client = Analytics("k", flush_at=flush_at, enable=False)
    assert client.flush_at == 1
    client.shutdown()


def test_the_delivery_options_pass_from_settings_to_the_client() -> None:
    values = {"max_batch_size": 100, "max_in_flight": 3, "on_queue_full": "block"}
    settings, problems = parse_settings(
        {"write_key": "k", **values, "block_timeout": 2.5, "enable": False}
    )
    assert problems == []
    client = Analytics("k", **settings.client_options())
    try:
        assert (client.max_batch_size, client.max_in_flight) == (100, 3)
        assert (client.on_queue_full, client.block_timeout) == ("block", 2.5)
    finally:
        client.shutdown()


@pytest.mark.parametrize(
    ("name", "bad", "says"),
    [
        ("max_in_flight", 0, "integer of at least 1"),
        ("on_queue_full", "wait", "one of 'drop', 'block'"),
        ("block_timeout", -1, "non-negative number of seconds"),
    ],
)
def test_a_bad_delivery_option_is_named_in_the_adapters_spelling(
    name: str, bad: object, says: str
) -> None:
    spelled = "SEGMENT_" + name.upper()  # as Flask spells it
    _, problems = parse_settings(
        {"write_key": "k", name: bad}, name_of=lambda n: "SEGMENT_" + n.upper()
    )
    [problem] = problems
    assert problem.fatal and problem.option == name
    assert spelled in problem.message and says in problem.message
