"""The middleware's cached host check gives what Django's own ``request.get_host()`` gives
(or SERVER_NAME where Django refuses the host), for generated hosts and settings: this
pins the copy of Django's DEBUG host list on every Django version the suite runs with."""

from __future__ import annotations

from django.core.exceptions import DisallowedHost
from django.test import RequestFactory
from django.test.utils import override_settings
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from segment_web.django.middleware import _host

labels = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,8}[a-z0-9])?", fullmatch=True)
names = st.lists(labels, min_size=1, max_size=3).map(".".join)
hosts = st.one_of(
    names,
    st.sampled_from(["localhost", "a.localhost", "127.0.0.1", "[::1]", "shop.example"]),
    st.tuples(names, st.integers(0, 70000)).map(lambda p: f"{p[0]}:{p[1]}"),
    st.sampled_from(["", ":80", "[::1]:8000", "bad host", "a..b", "x_y.example", "[::1"]),
    st.text(max_size=12),
)
allowed = st.sampled_from([(), ("shop.example",), (".example",), ("*",), ("localhost",)])


def django_answer(request: object) -> str:
    try:
        return request.get_host()  # type: ignore[attr-defined,no-any-return]
    except DisallowedHost:
        return str(request.META.get("SERVER_NAME", ""))  # type: ignore[attr-defined]


@given(host=hosts, allowed_hosts=allowed, debug=st.booleans())
@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@example(host="localhost", allowed_hosts=(), debug=True)
@example(host="a.localhost:8000", allowed_hosts=(), debug=True)
@example(host="[::1]", allowed_hosts=(), debug=True)
@example(host="127.0.0.1", allowed_hosts=(), debug=True)
@example(host="127.0.0.1", allowed_hosts=(), debug=False)
def test_the_cached_host_check_answers_as_django_does(
    host: str, allowed_hosts: tuple[str, ...], debug: bool
) -> None:
    with override_settings(ALLOWED_HOSTS=list(allowed_hosts), DEBUG=debug):
        request = RequestFactory().get("/", HTTP_HOST=host)
        assert _host(request) == django_answer(request)
