"""When the default USER_ID needs to load Django's user, and when it knows the answer
without it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.http import HttpRequest
from django.test import Client, override_settings
from django.utils.functional import SimpleLazyObject

from segment_web.web.integration import Integration
from tests.django.conftest import MIDDLEWARE
from tests.django.helpers import sent
from tests.support.recording_server import RecordingServer


@pytest.fixture
def ada() -> User:
    user = User.objects.filter(username="ada").first()
    return user or User.objects.create_user("ada", password="lovelace")


class LazyAdaMiddleware:
    """A custom authentication that gives every request its own lazy user, no session."""

    def __init__(self, get_response: Callable[[HttpRequest], Any]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> Any:
        request.user = SimpleLazyObject(lambda: User.objects.get(username="ada"))
        return self.get_response(request)


def test_a_visitor_without_a_session_gets_a_page_without_touching_the_session(
    segment: Integration, server: RecordingServer
) -> None:
    response = Client().get("/")
    (page,) = sent(segment, server, 1)
    assert page["type"] == "page"
    assert "userId" not in page
    # SessionMiddleware adds "Vary: Cookie" once anything read the session.
    assert "Vary" not in response


def test_a_logged_in_visitor_s_page_carries_the_user(
    segment: Integration, server: RecordingServer, ada: User
) -> None:
    client = Client()
    client.force_login(ada)
    response = client.get("/")
    (page,) = sent(segment, server, 1)
    assert page["userId"] == str(ada.pk)
    assert "Cookie" in response["Vary"]


def test_a_user_from_other_authentication_is_loaded(
    segment: Integration, server: RecordingServer, ada: User
) -> None:
    chain = [*MIDDLEWARE[:2], f"{__name__}.LazyAdaMiddleware", *MIDDLEWARE[2:]]
    with override_settings(MIDDLEWARE=chain):
        Client().get("/")
    (page,) = sent(segment, server, 1)
    assert page["userId"] == str(ada.pk)


def test_unloaded_tells_a_lazy_user_not_read_yet() -> None:
    """Pins what ``unloaded`` reads of Django's ``LazyObject`` (its ``_wrapped``)."""
    from types import SimpleNamespace

    from segment_web.django.middleware import unloaded

    lazy = SimpleLazyObject(lambda: SimpleNamespace(pk=7))
    assert unloaded(lazy)
    assert lazy.pk == 7
    assert not unloaded(lazy)
    assert not unloaded(SimpleNamespace(pk=7))
    assert not unloaded(None)
