"""Setting the extension up: both init styles, config keys and arguments, validation,
and several apps with their own clients in one process."""

from __future__ import annotations

import base64
import logging

import pytest
from flask import Flask

import segment_web
from segment_web import Analytics
from segment_web.flask import Segment, integration_of
from segment_web.flask.conf import config_key
from segment_web.testing import capture_events
from segment_web.web.integration import Integration
from segment_web.web.settings import IMPORTABLE
from tests.flask.conftest import create_app, delivered, integration_in
from tests.support import settings_callables
from tests.support.doc_snippets import DOCS, run_snippet
from tests.support.recording_server import RecordingServer


def test_direct_init_reads_the_config(apps: list[Flask], server: RecordingServer) -> None:
    app = create_app(SEGMENT_WRITE_KEY="direct", SEGMENT_HOST=server.url, SEGMENT_FLUSH_AT=1)
    apps.append(app)
    segment = Segment(app)
    integration = integration_of(app)
    assert isinstance(integration, Integration)
    assert app.extensions["segment"] is integration.client  # the client, as documented
    assert isinstance(app.extensions["segment"], Analytics)
    assert integration.client.write_key == "direct"
    assert integration.client.endpoint == f"{server.url}/v1/batch"
    # The extension object holds no per-app state.
    assert not any(isinstance(v, Integration) for v in vars(segment).values())
    app.test_client().get("/")
    assert delivered(app, server)[0]["type"] == "page"


def test_app_factory_with_overrides(apps: list[Flask], server: RecordingServer) -> None:
    segment = Segment(flush_at=3, flush_interval=2.5)

    def factory() -> Flask:
        app = create_app(
            SEGMENT_WRITE_KEY="factory",
            SEGMENT_HOST=server.url,
            SEGMENT_FLUSH_AT=50,
            SEGMENT_TIMEOUT=4,
            SEGMENT_GZIP=None,  # None is "not set": the default stays
        )
        segment.init_app(app, flush_at=2, host=None)
        apps.append(app)
        return app

    app = factory()
    client = integration_in(app).client
    assert client.flush_at == 2  # init_app argument > constructor argument > config
    assert client.flush_interval == 2.5  # constructor argument > default
    assert client.timeout == 4.0  # config
    assert client.endpoint == f"{server.url}/v1/batch"  # host=None keeps the config value
    assert client.gzip is True


def test_bad_settings_raise_one_error_naming_every_key(apps: list[Flask]) -> None:
    app = create_app(
        SEGMENT_WRITE_KEY="k",
        SEGMENT_MAX_QUEUE_SIZE=0,
        SEGMENT_FORWARDED_ALLOW_IPS="not-an-ip",
        SEGMENT_AUTO_PAGE="yes",
    )
    with pytest.raises(ValueError) as raised:
        Segment(app)
    message = str(raised.value)
    assert "SEGMENT_MAX_QUEUE_SIZE" in message and "at least 1" in message
    assert "SEGMENT_FORWARDED_ALLOW_IPS" in message and "not-an-ip" in message
    assert "SEGMENT_AUTO_PAGE" in message
    assert repr(app.name) in message
    assert "segment" not in app.extensions  # nothing was half set up


def test_a_bad_argument_is_named_as_an_argument(apps: list[Flask]) -> None:
    app = create_app(SEGMENT_WRITE_KEY="k")
    with pytest.raises(ValueError, match=r"user_id= \(argument\) must be a callable"):
        Segment(app, user_id=42)
    with pytest.raises(ValueError, match=r"user_id= \(argument\) .* is not a dotted path"):
        Segment(app, user_id="current_user")


def test_an_unknown_argument_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="flushat"):
        Segment(flushat=1)
    with pytest.raises(TypeError, match="flushat"):
        Segment().init_app(create_app(), flushat=1)


def test_an_unknown_config_key_is_only_a_warning(
    apps: list[Flask], caplog: pytest.LogCaptureFixture
) -> None:
    app = create_app(SEGMENT_WRITE_KEY="k", SEGMENT_JS_WRITE_KEY="browser-key")
    apps.append(app)
    with caplog.at_level(logging.WARNING, logger="segment_web"):
        Segment(app)
    assert "SEGMENT_JS_WRITE_KEY is not a setting" in caplog.text and "(ignored)" in caplog.text


def test_a_missing_write_key_warns_and_runs_disabled(
    apps: list[Flask], server: RecordingServer, caplog: pytest.LogCaptureFixture
) -> None:
    app = create_app(SEGMENT_HOST=server.url, SEGMENT_FLUSH_AT=1)
    apps.append(app)
    with caplog.at_level(logging.WARNING, logger="segment_web"):
        Segment(app)
    assert "SEGMENT_WRITE_KEY is not set" in caplog.text
    client = integration_in(app).client
    assert client.enable is False
    response = app.test_client().get("/api/item")  # the view's track still validates
    assert response.status_code == 200
    client.flush(timeout=10)
    assert server.requests == []


def test_init_app_twice_on_one_app_is_refused(apps: list[Flask]) -> None:
    app = create_app(SEGMENT_WRITE_KEY="k")
    apps.append(app)
    segment = Segment(app)
    with pytest.raises(RuntimeError, match="already set up"):
        segment.init_app(app)


def test_two_apps_in_one_process_send_with_their_own_write_keys(
    apps: list[Flask], server: RecordingServer
) -> None:
    segment = Segment(flush_at=1, host=server.url)  # one extension object, two apps
    shop, blog = create_app(SEGMENT_WRITE_KEY="shop-key"), create_app(SEGMENT_WRITE_KEY="blog-key")
    apps.extend([shop, blog])
    segment.init_app(shop)
    segment.init_app(blog)
    assert integration_in(shop).client is not integration_in(blog).client
    for _ in range(2):
        shop.test_client().get("/api/item")
        blog.test_client().get("/")
    integration_in(shop).client.flush(timeout=10)
    integration_in(blog).client.flush(timeout=10)
    sent_by: dict[str, list[str]] = {}
    for recorded in server.accepted:
        user, _, password = (
            base64.b64decode(recorded.headers["Authorization"].removeprefix("Basic "))
            .decode()
            .partition(":")
        )
        assert password == "" and recorded.body["writeKey"] == user
        sent_by.setdefault(user, []).extend(m["type"] for m in recorded.body["batch"])
    assert sent_by == {"shop-key": ["track", "track"], "blog-key": ["page", "page"]}


def test_every_callable_setting_takes_a_dotted_path(
    apps: list[Flask], server: RecordingServer
) -> None:
    # each callable setting is here, but transport: a stand-in transport sends nothing
    # (test_transport_may_be_a_dotted_path)
    # (a dotted write_key: tests/conformance/test_tenants.py, through the Django driver)
    assert set(settings_callables.PATHS) == set(IMPORTABLE) - {"transport", "write_key"}
    config = {config_key(name): path for name, path in settings_callables.PATHS.items()}
    app = create_app(SEGMENT_WRITE_KEY="k", SEGMENT_HOST=server.url, SEGMENT_FLUSH_AT=1, **config)
    apps.append(app)
    Segment(app)
    integration = integration_in(app)
    assert integration.client.error_handler is settings_callables.error_handler
    assert integration.settings.before_send is settings_callables.before_send
    assert app.test_client().get("/").status_code == 200
    settings_callables.assert_all_applied(delivered(app, server))


def test_before_send_takes_a_list_of_hooks_and_paths(
    apps: list[Flask], server: RecordingServer
) -> None:
    app = create_app(SEGMENT_WRITE_KEY="k", SEGMENT_HOST=server.url, SEGMENT_FLUSH_AT=1)
    apps.append(app)
    Segment(app, before_send=[lambda message: message, settings_callables.PATHS["before_send"]])
    assert app.test_client().get("/").status_code == 200
    (page,) = delivered(app, server)
    assert page["context"]["hooked"] is True


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("tests.support.no_such_module.hook", "could not import 'tests.support.no_such_module"),
        ("scrub", "'scrub' is not a dotted path"),
        ("tests.support.settings_callables.USER", "names 'dotted-user', which is not callable"),
    ],
)
def test_a_dotted_path_that_cannot_be_used_is_named(
    apps: list[Flask], value: str, words: str
) -> None:
    app = create_app(SEGMENT_WRITE_KEY="k", SEGMENT_BEFORE_SEND=value)
    with pytest.raises(ValueError, match="SEGMENT_BEFORE_SEND") as raised:
        Segment(app)
    assert words in str(raised.value)


def test_a_misspelled_setting_suggests_the_closest_name(
    apps: list[Flask], caplog: pytest.LogCaptureFixture
) -> None:
    app = create_app(SEGMENT_WRITE_KEY="k", SEGMENT_ANONYMISE_IP=True)
    apps.append(app)
    with caplog.at_level(logging.WARNING, logger="segment_web"):
        Segment(app)
    (warning,) = [r.getMessage() for r in caplog.records if "is not a setting" in r.getMessage()]
    assert warning == (
        "segment_web: SEGMENT_ANONYMISE_IP is not a setting; "
        "did you mean SEGMENT_ANONYMIZE_IP? (ignored)"
    )
    with pytest.raises(
        TypeError, match=r"'anonymise_ip' is not a setting; did you mean 'anonymize_ip'\?"
    ):
        Segment(anonymise_ip=True)


async def async_user(request: object) -> str:
    return "never"


def test_an_async_user_id_resolver_is_refused_when_set_up() -> None:
    app = Flask(__name__)
    app.config.update(SEGMENT_WRITE_KEY="k", SEGMENT_USER_ID=async_user)
    with pytest.raises(ValueError, match="SEGMENT_USER_ID is an async function"):
        Segment(app)


def test_a_misspelled_key_is_warned_about_and_own_keys_can_be_quiet(
    caplog: pytest.LogCaptureFixture, apps: list[Flask]
) -> None:
    app = create_app(SEGMENT_WRITE_KEY="k", SEGMENT_FLUSH_EVERY=5, SEGMENT_BROWSER_KEY="b")
    app.config["SEGMENT_IGNORE_KEYS"] = ["SEGMENT_BROWSER_KEY"]
    with caplog.at_level(logging.WARNING, logger="segment_web"):
        Segment(app, enable=False)
    apps.append(app)
    warned = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warned) == 1, warned
    assert "SEGMENT_FLUSH_EVERY is not a setting" in warned[0]


def test_the_docs_quick_start_runs_as_written(no_default_client: None) -> None:
    app = run_snippet("## Configure", page=DOCS / "frameworks" / "flask.md")["app"]
    assert isinstance(app, Flask)
    try:
        with capture_events() as events:
            response = app.test_client().post("/signup", data={"email": "ada@example.com"})
            assert response.status_code == 200
            segment_web.track(user_id="u", event="Outside A Request")  # the adopted default
        assert [e.get("event") for e in events] == [None, "Signed Up", "Outside A Request"]
        assert events[1]["userId"] == "ada@example.com"
    finally:
        integration_in(app).client.shutdown(timeout=2)
