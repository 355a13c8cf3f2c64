"""A write key per request without any framework: the settings (what is accepted, what
is refused with the option named), the integration's pool, each tenant's spool."""

from __future__ import annotations

import os

import pytest

from segment_web.collector.intake import write_key_from_auth
from segment_web.web.integration import Integration
from segment_web.web.settings import OPTIONS, parse_settings
from segment_web.web.tenants import spool_subdirectory
from tests.support.recording_server import RecordingServer
from tests.web.factories import scope_write_key


def test_a_dotted_write_key_is_imported_a_plain_one_is_kept() -> None:
    settings, problems = parse_settings({"write_key": "tests.web.factories.scope_write_key"})
    assert problems == []
    assert settings.write_key is scope_write_key
    assert settings.per_request
    settings, problems = parse_settings({"write_key": "abcDEF123"})
    assert (settings.write_key, settings.per_request, problems) == ("abcDEF123", False, [])
    # a placeholder with dots but no path's shape is a key, as written
    settings, problems = parse_settings({"write_key": "..."})
    assert (settings.write_key, settings.per_request, problems) == ("...", False, [])


def test_a_dotted_write_key_that_cannot_be_imported_is_named() -> None:
    _, problems = parse_settings({"write_key": "tests.web.no_such.key"}, name_of=str.upper)
    # named, then reported missing as any unset write key is (analytics disabled)
    assert [(p.option, p.import_failed) for p in problems] == [
        ("write_key", True),
        ("write_key", False),
    ]
    assert "WRITE_KEY could not import 'tests.web.no_such.key'" in problems[0].message


def test_a_host_callable_needs_a_write_key_callable() -> None:
    _, problems = parse_settings({"write_key": "k", "host": lambda scope: "127.0.0.1:1"})
    assert [(p.option, p.fatal) for p in problems] == [("host", True)]
    assert "host may be a callable only with a callable write key" in problems[0].message
    settings, problems = parse_settings({"write_key": scope_write_key, "host": str})
    assert problems == [] and settings.host is str


@pytest.mark.parametrize("value", [0, -1, "16", 2.5])
def test_max_clients_must_be_a_positive_int(value: object) -> None:
    _, problems = parse_settings({"write_key": "k", "max_clients": value}, name_of=str.upper)
    assert [p.option for p in problems] == ["max_clients"]
    assert problems[0].message.startswith("MAX_CLIENTS ")


def test_the_options_reference_says_write_key_and_host_may_be_callables() -> None:
    described = {option.name: option.doc for option in OPTIONS}
    assert "callable" in described["write_key"] and "callable" in described["host"]
    assert "max_clients" in described


def test_a_per_request_integration_adopts_no_default_and_holds_a_disabled_client(
    no_default_client: None,
) -> None:
    settings, _ = parse_settings({"write_key": scope_write_key})
    integration = Integration(settings)
    try:
        assert integration.pool is not None
        assert not integration.client.enable
        assert integration.adopt_as_default() is False
    finally:
        integration.shutdown()


def test_each_tenant_spools_in_its_own_directory(tmp_path: os.PathLike[str]) -> None:
    settings, _ = parse_settings(
        {"write_key": scope_write_key, "host": "127.0.0.1:9", "spool_dir": tmp_path}
    )
    integration = Integration(settings)
    assert integration.pool is not None
    try:
        scopes = [{"headers": [(b"x-tenant", tenant)]} for tenant in (b"a", b"b", b"a")]
        a, b, a_again = (integration.pool.client_for(scope) for scope in scopes)
        assert a is a_again and a is not b
        for client, key in ((a, "key-a"), (b, "key-b")):
            directory = spool_subdirectory(tmp_path, key, "127.0.0.1:9")
            assert os.fspath(client.spool_dir) == directory
            assert os.stat(directory).st_mode & 0o777 == 0o700
        assert os.path.basename(spool_subdirectory(tmp_path, "key-a", "h")) != "key-a"
    finally:
        integration.shutdown()


def _scope(tenant: bytes) -> dict[str, object]:
    return {"headers": [(b"x-tenant", tenant)]}


def test_a_request_holding_an_evicted_client_still_tracks_under_its_key(
    server: RecordingServer, no_default_client: None
) -> None:
    settings, problems = parse_settings(
        {"write_key": scope_write_key, "host": server.url, "max_clients": 1}
    )
    assert problems == []
    integration = Integration(settings)
    assert integration.pool is not None
    try:
        held = integration.pool.client_for(_scope(b"a"))  # a request of a, still running
        held.track(user_id="u", event="Before")  # a client's first message goes at once
        server.wait_for(1)
        assert integration.pool.client_for(_scope(b"b")) is not held  # a is evicted
        integration.pool.join_evicted()  # its eviction is over: flushed, let go
        assert integration.pool.clients() == [integration.pool.client_for(_scope(b"b"))]
        held.track(user_id="u", event="After eviction")  # no ClientClosedError
        held.flush(timeout=5)
        server.wait_for(2)
        keys = [write_key_from_auth(r.headers["Authorization"], None) for r in server.accepted]
        assert keys == ["key-a", "key-a"]
        assert [m["event"] for m in server.messages] == ["Before", "After eviction"]
    finally:
        integration.shutdown()
