"""Setting the extension up: both init styles, config keys and arguments, validation,
and several apps with their own clients in one process."""

from __future__ import annotations

import base64
import logging

import pytest
from flask import Flask

from segment_web import Analytics
from segment_web.flask import Segment, integration_of
from segment_web.web.integration import Integration
from tests.flask.conftest import create_app, delivered, integration_in
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
