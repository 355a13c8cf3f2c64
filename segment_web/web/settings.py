"""The adapters' settings: the client's options plus the web options, in one registry.

Django reads them from ``SEGMENT = {"WRITE_KEY": ...}`` (upper case), Flask from
``SEGMENT_WRITE_KEY``-style config keys, the ASGI middleware from keyword arguments
(snake_case). All three go through ``parse_settings`` here, so a value is judged the
same way everywhere and an error names the option and what it accepts. The options
reference of the documentation is generated from ``OPTIONS`` when the site is built
(``docs/_hooks/options_reference.py``).
"""

from __future__ import annotations

import importlib
import ipaddress
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from segment_web.core.option_rules import is_bool, is_int, is_optional_callable, is_seconds
from segment_web.core.options import (
    CLIENT_OPTION_NAMES,
    CLIENT_OPTIONS,
    Option,
    Problem,
    SharedOptions,
    is_host,
    is_write_key,
    parse_options,
)
from segment_web.core.pipeline import QueueFullMode
from segment_web.core.processing.before_send import Hooks
from segment_web.core.tracing import is_trace_option
from segment_web.delivery.transport import DEFAULT_HOST
from segment_web.plan.modes import PlanMode
from segment_web.plan.tracking_plan import TrackingPlan

# Anchored: a pattern must match the whole path (see request.pages.PageRules).
DEFAULT_PAGE_EXCLUDE: tuple[str, ...] = (
    r"/(static|media|assets)/.*",
    r"/(health|healthz|healthcheck|ready|readyz|live|livez|ping|status)",
    r"/favicon\.ico",
    r"/robots\.txt",
    r".*\.(css|js|mjs|map|png|jpe?g|gif|svg|ico|webp|avif|woff2?|ttf|eot|txt|xml|json)",
)
DEFAULT_FORWARDED_ALLOW_IPS = "127.0.0.1,::1"
ANONYMOUS_ID_COOKIE = "ajs_anonymous_id"
ONE_YEAR = 365 * 24 * 3600


def _is_cookie_name(value: Any) -> str | None:
    if isinstance(value, str) and re.fullmatch(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+", value):
        return None
    return "must be a valid cookie name such as 'ajs_anonymous_id'"


def _is_optional_cookie_name(value: Any) -> str | None:
    return None if value is None else _is_cookie_name(value)


def _is_optional_header_name(value: Any) -> str | None:
    if value is None or (isinstance(value, str) and _is_cookie_name(value) is None):
        return None  # a header name is the same token (RFC 9110 §5.1) as a cookie name
    return "must be a header name such as 'X-Session-Id', or None"


def _is_optional_str(value: Any) -> str | None:
    return None if value is None or isinstance(value, str) else "must be a string or None"


def _is_optional_path(value: Any) -> str | None:
    if value is None or (isinstance(value, str) and value.startswith("/")):
        return None
    return "must be a URL path starting with '/' (or None)"


def _is_patterns(value: Any) -> str | None:
    if isinstance(value, str) or not isinstance(value, list | tuple):
        return "must be a list of regular expressions matched against the whole path"
    for pattern in value:
        try:
            re.compile(pattern)
        except (re.error, TypeError) as error:
            return f"has an invalid pattern {pattern!r}: {error}"
    return None


def _is_ip_list(value: Any) -> str | None:
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, list | tuple):
        return "must be '*' or a comma-separated string or list of IP addresses/networks"
    for item in items:
        text = str(item).strip()
        if text == "*":
            continue
        try:
            ipaddress.ip_network(text, strict=False)
        except ValueError:
            return f"has {text!r}, which is not an IP address or network"
    return None


def _as_tuple(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


def import_dotted(path: str) -> Any:
    """The object a dotted path names: ``"myapp.privacy.consent"``."""
    module, _, name = path.strip().rpartition(".")
    if not module or not name:
        raise ImportError(f"{path!r} is not a dotted path such as 'myapp.privacy.consent'")
    return getattr(importlib.import_module(module), name)


# Options whose callable may be given as a dotted path ("myapp.analytics.scrub"), in
# every adapter alike (settings files hold strings); before_send's list may mix hooks
# and paths. The client itself takes callables only.
IMPORTABLE = ("error_handler", "before_send", "consent", "user_id", "transport", "write_key")


# A module path and a name: identifiers joined by dots ("myapp.tenants.write_key").
_DOTTED_PATH = re.compile(r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+")


def _is_dotted_path(name: str, value: str) -> bool:
    """A write key has no dots, so only a string shaped like a dotted path
    (``"myapp.tenants.write_key"``) is a path to import; anything else, a placeholder
    such as ``"..."`` included, is the key itself (a host name has dots of its own, so
    ``host`` takes callables only)."""
    return name != "write_key" or _DOTTED_PATH.fullmatch(value.strip()) is not None


class _NotImported(Exception):
    def __init__(self, message: str, *, import_failed: bool) -> None:
        super().__init__(message)
        self.import_failed = import_failed


def _import_callable(path: str) -> Any:
    try:
        found = import_dotted(path)
    except Exception as error:  # whatever the user's module raises while importing
        raise _NotImported(f"could not import {path!r}: {error}", import_failed=True) from None
    if not callable(found):
        raise _NotImported(f"names {found!r}, which is not callable", import_failed=False)
    return found


def import_callables(
    values: Mapping[str, Any], name_of: Callable[[str], str] = str
) -> tuple[dict[str, Any], list[Problem]]:
    """``values`` with the dotted paths of ``IMPORTABLE`` options replaced by what they
    name; one ``Problem`` per path that cannot be used (that option is left out)."""
    resolved = dict(values)
    problems: list[Problem] = []
    for name in IMPORTABLE:
        value = resolved.get(name)
        try:
            if isinstance(value, str) and _is_dotted_path(name, value):
                resolved[name] = _import_callable(value)
            elif name == "before_send" and isinstance(value, list | tuple):
                resolved[name] = [
                    _import_callable(item) if isinstance(item, str) else item for item in value
                ]
        except _NotImported as error:
            del resolved[name]
            problems.append(
                Problem(name, f"{name_of(name)} {error}", import_failed=error.import_failed)
            )
    return resolved, problems


def _is_names(value: Any) -> str | None:
    if isinstance(value, list | tuple) and all(isinstance(v, str) and v for v in value):
        return None
    return "must be a list of consent category names such as ['Advertising', 'Marketing']"


def _is_write_key(value: Any) -> str | None:
    if callable(value) or is_write_key(value) is None:
        return None
    return (
        "must be a non-empty string (your Segment source's write key), or a callable "
        "(or dotted path) of the request returning one"
    )


def _is_host(value: Any) -> str | None:
    return None if callable(value) else is_host(value)


# write_key and host as the adapters take them: a value, or a callable of the request.
_PER_REQUEST = {
    "write_key": Option(
        "write_key",
        None,
        _is_write_key,
        "your Segment source's write key; or a callable (or dotted path) of the request "
        "returning it: one client per write key (see max_clients)",
        "—",
        annotation="str | Callable[..., Any] | None",
    ),
    "host": Option(
        "host",
        DEFAULT_HOST,
        _is_host,
        "tracking API: region, self-hosted endpoint; or, with a callable write_key, a "
        "callable of the request returning it",
        annotation="str | Callable[..., Any]",
    ),
}

WEB_OPTIONS: tuple[Option, ...] = (
    Option(
        "auto_page",
        True,
        is_bool,
        "a page call per 2xx GET answered with text/html, named after the route or view",
        annotation="bool",
    ),
    Option(
        "page_exclude",
        DEFAULT_PAGE_EXCLUDE,
        _is_patterns,
        "regexes matched against the whole path: no automatic page there",
        "static/media files, health checks",
        _as_tuple,
        annotation="tuple[str, ...]",
    ),
    Option(
        "anonymous_id_cookie",
        ANONYMOUS_ID_COOKIE,
        _is_cookie_name,
        "analytics.js's cookie",
        annotation="str",
    ),
    Option(
        "set_anonymous_id_cookie",
        True,
        is_bool,
        "set that cookie (SameSite=Lax, readable by analytics.js) when the request had "
        "no usable one",
        annotation="bool",
    ),
    Option(
        "anonymous_id_cookie_domain",
        None,
        _is_optional_str,
        "that cookie's Domain",
        annotation="str | None",
    ),
    Option(
        "anonymous_id_cookie_max_age",
        ONE_YEAR,
        is_int(minimum=0),
        "its Max-Age",
        "one year",
        annotation="int",
    ),
    Option(
        "capture_ip", True, is_bool, "send the client's address as context.ip", annotation="bool"
    ),
    Option(
        "forwarded_allow_ips",
        DEFAULT_FORWARDED_ALLOW_IPS,
        _is_ip_list,
        'proxies whose X-Forwarded-For, Forwarded and X-Real-IP are believed ("*": all)',
        normalize=_as_tuple,
        annotation="str | tuple[str, ...]",
    ),
    Option(
        "anonymize_ip",
        False,
        is_bool,
        "mask context.ip to its network: IPv4 last octet, IPv6 last 80 bits zeroed",
        annotation="bool",
    ),
    Option(
        "consent",
        None,
        is_optional_callable,
        "callable (or dotted path) given the framework's request, returning category → "
        "bool or None; sent as context.consent.categoryPreferences",
        annotation="Callable[[Any], Any] | None",
    ),
    Option(
        "consent_cookie",
        None,
        _is_optional_cookie_name,
        "name of a Segment consent-manager cookie ('tracking-preferences') to read "
        "categories and destination flags from",
        annotation="str | None",
    ),
    Option(
        "gpc_categories",
        (),
        _is_names,
        "consent categories a request with Sec-GPC: 1 marks false (empty: GPC not read)",
        "none",
        _as_tuple,
        annotation="tuple[str, ...]",
    ),
    Option(
        "user_id",
        None,
        is_optional_callable,
        "callable returning the current user's id, asked as each message is built "
        "(async ones, ASGI and Django under ASGI only: awaited once per request)",
        annotation="Callable[..., Any] | None",
    ),
    Option(
        "session_id_header",
        None,
        _is_optional_header_name,
        "header carrying the browser's session id (analytics.js/Amplitude: ms since the "
        "epoch), sent as integrations['Actions Amplitude'].session_id and context.sessionId",
        annotation="str | None",
    ),
    Option(
        "session_id_cookie",
        None,
        _is_optional_cookie_name,
        "cookie carrying that session id, read when the header is absent",
        annotation="str | None",
    ),
    Option(
        "user_id_timeout",
        1.0,
        is_seconds(positive=True),
        "how long an async user_id is awaited before the request goes without a user id",
        annotation="float",
    ),
    Option(
        "span_enduser_id",
        False,
        is_trace_option,
        "set enduser.id on the request's OpenTelemetry server span once the user is resolved",
        annotation="bool",
    ),
    Option(
        "health_path",
        None,
        _is_optional_path,
        "Flask and ASGI: answer GETs here with the client's stats as JSON (503 when "
        "failing); Django: add segment_web.django.health_view to urls.py instead",
        annotation="str | None",
    ),
    Option(
        "health_max_failing",
        300.0,
        is_seconds(positive=True),
        "seconds of delivery failing without a success before the health answer is 503",
        annotation="float",
    ),
    Option(
        "max_clients",
        16,
        is_int(minimum=1),
        "with a callable write_key: how many clients (one per write key and host) are "
        "kept; past it the least recently used is flushed and closed",
        annotation="int",
    ),
)
OPTIONS: tuple[Option, ...] = (
    tuple(_PER_REQUEST.get(option.name, option) for option in CLIENT_OPTIONS) + WEB_OPTIONS
)
OPTION_NAMES = tuple(option.name for option in OPTIONS)
_DEFAULTS = {option.name: option.default for option in OPTIONS}


@dataclass(frozen=True)
class SegmentSettings:
    """Every adapter option with its default (from ``OPTIONS``). Build it with
    ``parse_settings``."""

    # Generated from OPTIONS (make generate):
    # [[[cog
    # from segment_web.web.settings import OPTIONS
    # for option in OPTIONS:
    #     cog.outl(f"    {option.declaration(defaults='_DEFAULTS')}")
    # ]]]
    write_key: str | Callable[..., Any] | None = None
    host: str | Callable[..., Any] = "https://api.segment.io"
    flush_at: int = 20
    flush_interval: float = 10.0
    enable: bool = True
    error_handler: Callable[[Exception], Any] | None = None
    max_queue_size: int = 10_000
    max_retries: int = 10
    timeout: float = 15.0
    gzip: bool = True
    shutdown_timeout: float = 5.0
    flush_on_signals: bool = True
    spool_dir: str | os.PathLike[str] | None = None
    spool_max_bytes: int = 536_870_912
    spool_fsync_interval: float = 1.0
    max_batch_size: int = 500
    max_in_flight: int = 12
    on_queue_full: QueueFullMode = "drop"
    block_timeout: float = 10.0
    before_send: Hooks = None
    tracking_plan: TrackingPlan | str | os.PathLike[str] | None = None
    plan_mode: PlanMode = "report"
    allow_unplanned_events: bool = False
    trace_context: bool = False
    proxies: Mapping[str, str] | None = None
    verify: bool | str | None = None
    cert: str | tuple[str, str] | None = None
    headers: Mapping[str, str] | None = None
    transport: Any = None
    oauth_client_id: str | None = None
    oauth_client_key: str | None = None
    oauth_key_id: str | None = None
    oauth_auth_server: str = "https://oauth2.segment.io"
    oauth_scope: str = "tracking_api:write"
    auto_page: bool = True
    page_exclude: tuple[str, ...] = _DEFAULTS["page_exclude"]
    anonymous_id_cookie: str = "ajs_anonymous_id"
    set_anonymous_id_cookie: bool = True
    anonymous_id_cookie_domain: str | None = None
    anonymous_id_cookie_max_age: int = 31_536_000
    capture_ip: bool = True
    forwarded_allow_ips: str | tuple[str, ...] = "127.0.0.1,::1"
    anonymize_ip: bool = False
    consent: Callable[[Any], Any] | None = None
    consent_cookie: str | None = None
    gpc_categories: tuple[str, ...] = ()
    user_id: Callable[..., Any] | None = None
    session_id_header: str | None = None
    session_id_cookie: str | None = None
    user_id_timeout: float = 1.0
    span_enduser_id: bool = False
    health_path: str | None = None
    health_max_failing: float = 300.0
    max_clients: int = 16
    # [[[end]]]

    @property
    def per_request(self) -> bool:
        """True when the write key is chosen per request (a callable)."""
        return callable(self.write_key)

    def client_options(self) -> dict[str, Any]:
        """Keyword arguments for ``Analytics`` (the write key excepted)."""
        return {name: getattr(self, name) for name in CLIENT_OPTION_NAMES if name != "write_key"}


class AdapterOptions(SharedOptions, total=False):
    """The adapters' keyword options but ``write_key``, to type their ``**options``
    (``SegmentMiddleware(app, write_key, **options)``, ``Segment(app, **options)``)."""

    # Generated from OPTIONS (make generate):
    # [[[cog
    # from segment_web.web.settings import _PER_REQUEST, WEB_OPTIONS
    # for option in [*_PER_REQUEST.values(), *WEB_OPTIONS]:
    #     if option.name != "write_key":  # a parameter of its own
    #         cog.outl(f"    {option.name}: {option.annotation}")
    # ]]]
    host: str | Callable[..., Any]
    auto_page: bool
    page_exclude: tuple[str, ...]
    anonymous_id_cookie: str
    set_anonymous_id_cookie: bool
    anonymous_id_cookie_domain: str | None
    anonymous_id_cookie_max_age: int
    capture_ip: bool
    forwarded_allow_ips: str | tuple[str, ...]
    anonymize_ip: bool
    consent: Callable[[Any], Any] | None
    consent_cookie: str | None
    gpc_categories: tuple[str, ...]
    user_id: Callable[..., Any] | None
    session_id_header: str | None
    session_id_cookie: str | None
    user_id_timeout: float
    span_enduser_id: bool
    health_path: str | None
    health_max_failing: float
    max_clients: int
    # [[[end]]]


def parse_settings(
    values: Mapping[str, Any], *, name_of: Callable[[str], str] = str
) -> tuple[SegmentSettings, list[Problem]]:
    """Validate snake_case ``values``; bad ones are left at their default and reported
    (an unknown name and a bad value are ``fatal``; a missing write key is not). The
    callable options (``IMPORTABLE``) may be dotted paths.

    ``name_of`` turns an option name into what the user wrote (``"FLUSH_AT"``,
    ``"SEGMENT_FLUSH_AT"``), so problems speak the user's language.
    """
    imported, problems = import_callables(values, name_of)
    accepted, invalid = parse_options(imported, OPTIONS, name_of=name_of)
    problems += invalid
    if callable(accepted.get("host")) and not callable(accepted.get("write_key")):
        problems.append(
            Problem("host", f"{name_of('host')} may be a callable only with a callable write key")
        )
        del accepted["host"]
    if not accepted.get("write_key"):
        problems.append(
            Problem(
                "write_key",
                f"{name_of('write_key')} is not set: analytics is disabled, nothing is sent",
                fatal=False,
            )
        )
    return SegmentSettings(**accepted), problems
