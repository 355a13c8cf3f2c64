"""Hostile request data through Django: the response is 200, the event valid; bad
settings never stop management commands."""

from __future__ import annotations

import io
from collections.abc import Callable

from django.core.management import call_command
from django.test import Client

from segment_web.web.integration import Integration
from tests.django.helpers import sent
from tests.support.recording_server import RecordingServer
from tests.web import hostile


def test_an_unusable_cookie_is_replaced(segment: Integration, server: RecordingServer) -> None:
    client = Client()
    client.cookies[hostile.COOKIE] = hostile.SURROGATE_COOKIE
    response = client.get("/track/")
    assert response.status_code == 200
    (track,) = sent(segment, server, 1)
    hostile.assert_valid_with_a_new_id(track)
    assert response.cookies[hostile.COOKIE].value == track["anonymousId"]


def test_oversized_headers_and_query_still_send_a_valid_page(
    segment: Integration, server: RecordingServer
) -> None:
    response = Client().get(
        f"/?{hostile.LONG_CAMPAIGN_QUERY}",
        headers={"user-agent": hostile.LONG_USER_AGENT, "referer": hostile.LONG_REFERRER},
    )
    assert response.status_code == 200
    (page,) = sent(segment, server, 1)
    assert page["type"] == "page"
    hostile.assert_valid_with_a_new_id(page)
    assert page["context"]["userAgent"].startswith('"""')


def test_a_raw_utf8_cookie_is_read_as_utf8(segment: Integration, server: RecordingServer) -> None:
    raw = hostile.as_wsgi(f"{hostile.COOKIE}={hostile.UNICODE_ID}")
    response = Client().get("/track/", HTTP_COOKIE=raw)
    assert response.status_code == 200
    (track,) = sent(segment, server, 1)
    assert track["anonymousId"] == hostile.UNICODE_ID


def test_x_real_ip_from_a_trusted_proxy(segment: Integration, server: RecordingServer) -> None:
    # The test client's peer is 127.0.0.1, a trusted proxy by default.
    Client().get("/track/", headers={"x-real-ip": "198.51.100.7"})
    Client().get("/track/", headers={"forwarded": 'for="[2001:db8::9]:443"'})
    first, second = sent(segment, server, 2)
    assert first["context"]["ip"] == "198.51.100.7"
    assert second["context"]["ip"] == "2001:db8::9"


def test_bad_settings_do_not_stop_check_or_migrate(
    use_segment: Callable[..., Integration],
) -> None:
    use_segment(TIMEOUT=0, AUTO_PAGE="yes", USER_ID="tests.django.views.nowhere")
    # Errors would raise SystemCheckError here, as they stop runserver and migrate.
    call_command("check", stdout=io.StringIO(), stderr=io.StringIO())
    call_command("migrate", verbosity=0, skip_checks=False)


def test_flush_at_zero_becomes_one(use_segment: Callable[..., Integration]) -> None:
    integration = use_segment(FLUSH_AT=0)
    assert integration.client.flush_at == 1
    assert integration.settings.flush_at == 1
