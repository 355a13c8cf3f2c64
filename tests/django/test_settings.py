"""Settings: SEGMENT and the environment, dotted paths, system checks, safe imports."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from django.apps import apps
from django.core.checks import Warning, run_checks
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.http import HttpRequest, HttpResponse
from django.test import Client
from django.test.utils import override_settings

from segment_web.django import SegmentMiddleware, get_integration, reload_integration
from segment_web.web.integration import Integration
from segment_web.web.settings import IMPORTABLE
from tests.django import views
from tests.django.conftest import MIDDLEWARE
from tests.django.helpers import sent
from tests.support import settings_callables
from tests.support.recording_server import RecordingServer

ROOT = Path(__file__).resolve().parents[2]


def segment_checks() -> dict[str, type]:
    """The segment_web check messages now, id → Error or Warning."""
    return {m.id: type(m) for m in run_checks() if m.id and m.id.startswith("segment_web.")}


def test_good_settings_pass_the_checks(segment: Integration) -> None:
    assert segment_checks() == {}
    assert segment.client.enable is True


def test_no_write_key_is_a_warning_and_the_client_sends_nothing() -> None:
    with override_settings(SEGMENT={}):
        assert segment_checks() == {"segment_web.W001": Warning}
        integration = get_integration()
        assert integration.client.enable is False
        assert Client().get("/track/").status_code == 200


def test_bad_values_are_reported_and_fall_back_to_defaults(
    use_segment: Callable[..., Integration], server: RecordingServer
) -> None:
    integration = use_segment(
        FLUSH_AT="0", AUTO_PAGE="yes", WRTIE_KEY="typo", USER_ID="tests.django.views.nowhere"
    )
    found = {m.id: m for m in run_checks() if m.id.startswith("segment_web.")}
    assert {key: type(m) for key, m in found.items()} == {
        "segment_web.W005": Warning,
        "segment_web.W006": Warning,
        "segment_web.W002": Warning,
    }
    assert "WRTIE_KEY" in found["segment_web.W002"].msg
    assert "USER_ID" in found["segment_web.W006"].msg
    ids_of_e002 = [m.msg for m in run_checks() if m.id == "segment_web.W005"]
    assert len(ids_of_e002) == 2
    assert any("FLUSH_AT" in msg for msg in ids_of_e002)
    assert integration.client.flush_at == 20
    assert integration.settings.auto_page is True
    assert integration.settings.user_id is None
    # The site and the analytics still work on the defaults.
    Client().get("/")
    (page,) = sent(integration, server, 1)
    assert page["type"] == "page"


def test_a_segment_setting_that_is_not_a_dict_is_a_warning() -> None:
    with override_settings(SEGMENT="my-write-key"):
        assert segment_checks() == {"segment_web.W004": Warning, "segment_web.W001": Warning}


def test_a_zero_timeout_is_reported_and_the_rest_kept(
    use_segment: Callable[..., Integration], server: RecordingServer
) -> None:
    integration = use_segment(TIMEOUT=0, MAX_RETRIES=3)
    assert segment_checks() == {"segment_web.W005": Warning}
    assert integration.client.timeout == 15.0
    assert integration.client.max_retries == 3
    assert integration.client.endpoint == f"{server.url}/v1/batch"
    Client().get("/track/")
    sent(integration, server, 1)


@pytest.mark.parametrize(
    "path",
    ["segment_web.django.SegmentMiddleware", "segment_web.django.middleware.SegmentMiddleware"],
)
def test_segment_middleware_above_auth_is_a_warning(segment: Integration, path: str) -> None:
    with override_settings(MIDDLEWARE=[MIDDLEWARE[0], path, MIDDLEWARE[1]]):
        assert segment_checks() == {"segment_web.W003": Warning}


def test_checks_for_other_apps_leave_segment_out() -> None:
    with override_settings(SEGMENT="bad"):
        messages = run_checks(app_configs=[apps.get_app_config("auth")])
        assert not [m for m in messages if m.id.startswith("segment_web.")]


@pytest.fixture
def environ_write_key(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("SEGMENT_WRITE_KEY", "env-key")
    yield
    monkeypatch.delenv("SEGMENT_WRITE_KEY")
    reload_integration()  # not leave an enabled client behind for later tests


def test_the_write_key_falls_back_to_the_environment(
    environ_write_key: None, server: RecordingServer
) -> None:
    with override_settings(SEGMENT={"HOST": server.url, "FLUSH_AT": 1}):
        assert segment_checks() == {}
        integration = get_integration()
        Client().get("/track/")
        sent(integration, server, 1)
        assert server.accepted[0].body["writeKey"] == "env-key"
    with override_settings(SEGMENT={"WRITE_KEY": "settings-key", "HOST": server.url}):
        assert get_integration().client.write_key == "settings-key"


def test_the_error_handler_may_be_a_dotted_path(use_segment: Callable[..., Integration]) -> None:
    integration = use_segment(ERROR_HANDLER="tests.django.views.error_handler")
    assert integration.client.error_handler is views.error_handler


def test_override_settings_rebuilds_and_shuts_down_the_previous_client(
    use_segment: Callable[..., Integration],
) -> None:
    first = use_segment()
    second = use_segment(FLUSH_AT=5)
    assert second is get_integration() and second is not first
    assert second.client.flush_at == 5
    with pytest.raises(Exception, match="shut down"):
        first.client.track(user_id="1", event="Late")


def test_the_middleware_needs_the_app() -> None:
    def view(request: HttpRequest) -> HttpResponse:
        return HttpResponse()

    without = ["django.contrib.auth", "django.contrib.contenttypes", "django.contrib.sessions"]
    with (
        override_settings(INSTALLED_APPS=without),
        pytest.raises(ImproperlyConfigured, match="INSTALLED_APPS"),
    ):
        SegmentMiddleware(view)


def test_the_package_imports_before_django_is_configured() -> None:
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    code = "import segment_web.django as d; print(d.SegmentMiddleware.__name__)"
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "SegmentMiddleware"


def test_a_misspelled_key_suggests_the_closest_name(
    use_segment: Callable[..., Integration],
) -> None:
    use_segment(ANONYMISE_IP=True)
    (unknown,) = [m for m in run_checks() if m.id == "segment_web.W002"]
    assert unknown.msg == "ANONYMISE_IP is not a setting; did you mean ANONYMIZE_IP?"
    use_segment(COMPLETELY_UNRELATED=True)
    (unknown,) = [m for m in run_checks() if m.id == "segment_web.W002"]
    assert unknown.msg.startswith("COMPLETELY_UNRELATED is not a setting; known: WRITE_KEY, ")


def test_every_callable_setting_takes_a_dotted_path(
    use_segment: Callable[..., Integration], server: RecordingServer
) -> None:
    # each callable setting is here, but transport: a stand-in transport sends nothing
    # (test_transport_may_be_a_dotted_path)
    # (a dotted write_key: tests/conformance/test_tenants.py, through the Django driver)
    assert set(settings_callables.PATHS) == set(IMPORTABLE) - {"transport", "write_key"}
    integration = use_segment(
        **{name.upper(): path for name, path in settings_callables.PATHS.items()}
    )
    assert segment_checks() == {}
    assert integration.client.error_handler is settings_callables.error_handler
    assert integration.settings.before_send is settings_callables.before_send
    assert Client().get("/").status_code == 200
    integration.client.flush(timeout=10)
    settings_callables.assert_all_applied(server.messages)


def transport_for_tests(url: str, body: bytes, headers: object, timeout: float) -> object:
    return 200, {}, b"{}"


def test_transport_may_be_a_dotted_path(use_segment: Callable[..., Integration]) -> None:
    integration = use_segment(TRANSPORT="tests.django.test_settings.transport_for_tests")
    assert integration.client.http.transport is transport_for_tests
    integration.client.track(user_id="u", event="E")
    assert integration.client.flush() == 1


def test_bad_settings_do_not_stop_check_or_migrate(
    use_segment: Callable[..., Integration],
) -> None:
    use_segment(TIMEOUT=0, AUTO_PAGE="yes", USER_ID="tests.django.views.nowhere")
    # Errors would raise SystemCheckError here, as they stop runserver and migrate.
    call_command("check", stdout=io.StringIO(), stderr=io.StringIO())
    call_command("migrate", verbosity=0, skip_checks=False)


def ids() -> set[str]:
    return {m.id for m in run_checks() if m.id and m.id.startswith("segment_web.")}


def test_disabled_in_production_is_a_warning(use_segment: Callable[..., Integration]) -> None:
    use_segment(ENABLE=False)
    assert "segment_web.W009" in ids()
    with override_settings(DEBUG=True):
        assert "segment_web.W009" not in ids()
    use_segment()
    assert "segment_web.W009" not in ids()
