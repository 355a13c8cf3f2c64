"""Reading a raw ASGI scope: the corners a test client does not reach."""

from __future__ import annotations

import pytest

from segment_web.asgi.scope import cookie_value, request_facts, route_name, scope_user_id
from tests.asgi.apps import http_scope

NAME = "ajs_anonymous_id"


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("ajs_anonymous_id=abc", "abc"),
        ("a=1; ajs_anonymous_id=%22abc%22; b=2", "%22abc%22"),
        ('ajs_anonymous_id="abc"', '"abc"'),
        ("xajs_anonymous_id=no; ajs_anonymous_id=yes", "yes"),
        ("ajs_anonymous_id_old=no", None),
        ("ajs_anonymous_id=first; ajs_anonymous_id=second", "first"),
        ("broken; ajs_anonymous_id = spaced ; c", "spaced"),
        ("theme=dark", None),
        ("", None),
    ],
)
def test_the_anonymous_id_cookie_is_picked_from_the_header(
    header: str, expected: str | None
) -> None:
    assert cookie_value(header, NAME) == expected


def test_headers_are_read_once_and_repeats_are_joined() -> None:
    scope = http_scope(
        "/p",
        headers=[
            (b"host", b"caf\xe9.example"),
            (b"x-forwarded-for", b"198.51.100.1"),
            (b"cookie", b"a=1"),
            (b"x-forwarded-for", b"203.0.113.7"),
            (b"cookie", b"ajs_anonymous_id=split-by-http2"),
        ],
        query_string=b"q=caf\xe9",
    )
    facts = request_facts(scope)
    assert facts.host == "café.example"
    assert facts.header("x-forwarded-for") == "198.51.100.1, 203.0.113.7"
    assert facts.cookie(NAME) == "split-by-http2"
    assert facts.query_string == "q=café"
    assert facts.peer == "192.0.2.1"


@pytest.mark.parametrize(
    ("scheme", "server", "host"),
    [
        ("http", ("example.test", 80), "example.test"),
        ("https", ("example.test", 443), "example.test"),
        ("http", ["example.test", 8080], "example.test:8080"),
        ("https", ("::1", 8443), "[::1]:8443"),
        ("http", ("/run/app.sock", None), "localhost"),
        ("http", None, ""),
    ],
)
def test_without_a_host_header_the_server_pair_names_the_host(
    scheme: str, server: object, host: str
) -> None:
    scope = http_scope("/", headers=[], scheme=scheme, server=server, client=None)
    facts = request_facts(scope)
    assert facts.host == host
    assert facts.peer is None


class User:
    def __init__(self, authenticated: bool, identity: str | None) -> None:
        self.is_authenticated = authenticated
        self.identity = identity


class NoIdentity:
    is_authenticated = True

    @property
    def identity(self) -> str:
        raise NotImplementedError


class OldSimpleUser(NoIdentity):
    """Starlette's SimpleUser before 1.10: a username, and BaseUser's unimplemented identity."""

    username = "ada"


@pytest.mark.parametrize(
    ("user", "expected"),
    [
        (User(True, "u-1"), "u-1"),
        (User(False, "u-1"), None),
        (User(True, ""), None),
        (NoIdentity(), None),
        (OldSimpleUser(), "ada"),
        (object(), None),
        (None, None),
    ],
)
def test_the_scope_user_gives_its_identity_when_authenticated(
    user: object, expected: str | None
) -> None:
    assert scope_user_id(http_scope("/", user=user)) == expected


class Named:
    name = "checkout"
    path = "/checkout"


class Unnamed:
    name = None
    path = "/orders/{id}"


def endpoint() -> None:
    pass


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ({"route": Named()}, "checkout"),
        ({"route": Unnamed()}, "/orders/{id}"),
        ({"endpoint": endpoint}, "endpoint"),
        ({}, None),
    ],
)
def test_the_page_name_comes_from_route_then_path_then_endpoint(
    extra: dict[str, object], expected: str | None
) -> None:
    assert route_name(http_scope("/", **extra)) == expected
