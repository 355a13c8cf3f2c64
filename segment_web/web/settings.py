"""The adapters' settings: the client's options plus the web options, in one registry.

Django reads them from ``SEGMENT = {"WRITE_KEY": ...}`` (upper case), Flask from
``SEGMENT_WRITE_KEY``-style config keys, the ASGI middleware from keyword arguments
(snake_case). All three go through ``parse_settings`` here, so a value is judged the
same way everywhere and an error names the option and what it accepts. The adapters'
documentation tables are generated from ``OPTIONS`` by ``options_table``.
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
    parse_options,
)
from segment_web.core.processing.before_send import Hooks
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


def _is_callable_or_path(value: Any) -> str | None:
    if value is None or callable(value):
        return None
    if not isinstance(value, str):
        return "must be a callable, a dotted path to one, or None"
    try:
        found = import_dotted(value)
    except Exception as error:  # whatever the user's module raises while importing
        return f"could not import {value!r}: {error}"
    return None if callable(found) else f"names {found!r}, which is not callable"


def _imported(value: Any) -> Any:
    return import_dotted(value) if isinstance(value, str) else value


def _is_names(value: Any) -> str | None:
    if isinstance(value, list | tuple) and all(isinstance(v, str) and v for v in value):
        return None
    return "must be a list of consent category names such as ['Advertising', 'Marketing']"


WEB_OPTIONS: tuple[Option, ...] = (
    Option(
        "auto_page",
        True,
        is_bool,
        "a page call per 2xx GET answered with text/html, named after the route or view",
    ),
    Option(
        "page_exclude",
        DEFAULT_PAGE_EXCLUDE,
        _is_patterns,
        "regexes matched against the whole path: no automatic page there",
        "static/media files, health checks",
        _as_tuple,
    ),
    Option("anonymous_id_cookie", ANONYMOUS_ID_COOKIE, _is_cookie_name, "analytics.js's cookie"),
    Option(
        "set_anonymous_id_cookie",
        True,
        is_bool,
        "set that cookie (SameSite=Lax, readable by analytics.js) when the request had "
        "no usable one",
    ),
    Option("anonymous_id_cookie_domain", None, _is_optional_str, "that cookie's Domain"),
    Option("anonymous_id_cookie_max_age", ONE_YEAR, is_int(minimum=0), "its Max-Age", "one year"),
    Option("capture_ip", True, is_bool, "send the client's address as context.ip"),
    Option(
        "forwarded_allow_ips",
        DEFAULT_FORWARDED_ALLOW_IPS,
        _is_ip_list,
        'proxies whose X-Forwarded-For, Forwarded and X-Real-IP are believed ("*": all)',
        normalize=_as_tuple,
    ),
    Option(
        "anonymize_ip",
        False,
        is_bool,
        "mask context.ip to its network: IPv4 last octet, IPv6 last 80 bits zeroed",
    ),
    Option(
        "consent",
        None,
        _is_callable_or_path,
        "callable (or dotted path) given the framework's request, returning category → "
        "bool or None; sent as context.consent.categoryPreferences",
        normalize=_imported,
    ),
    Option(
        "consent_cookie",
        None,
        _is_optional_cookie_name,
        "name of a Segment consent-manager cookie ('tracking-preferences') to read "
        "categories and destination flags from",
    ),
    Option(
        "gpc_categories",
        (),
        _is_names,
        "consent categories a request with Sec-GPC: 1 marks false (empty: GPC not read)",
        "none",
        _as_tuple,
    ),
    Option(
        "user_id",
        None,
        is_optional_callable,
        "callable returning the current user's id, asked as each message is built "
        "(async ones, ASGI and Django under ASGI only: awaited once per request)",
    ),
    Option(
        "session_id_header",
        None,
        _is_optional_header_name,
        "header carrying the browser's session id (analytics.js/Amplitude: ms since the "
        "epoch), sent as integrations['Actions Amplitude'].session_id and context.sessionId",
    ),
    Option(
        "session_id_cookie",
        None,
        _is_optional_cookie_name,
        "cookie carrying that session id, read when the header is absent",
    ),
    Option(
        "user_id_timeout",
        1.0,
        is_seconds(positive=True),
        "how long an async user_id is awaited before the request goes without a user id",
    ),
)
OPTIONS: tuple[Option, ...] = CLIENT_OPTIONS + WEB_OPTIONS
OPTION_NAMES = tuple(option.name for option in OPTIONS)
_DEFAULTS = {option.name: option.default for option in OPTIONS}


@dataclass(frozen=True)
class SegmentSettings:
    """Every adapter option with its default (from ``OPTIONS``). Build it with
    ``parse_settings``."""

    write_key: str | None = _DEFAULTS["write_key"]
    host: str = DEFAULT_HOST
    flush_at: int = _DEFAULTS["flush_at"]
    flush_interval: float = _DEFAULTS["flush_interval"]
    enable: bool = _DEFAULTS["enable"]
    error_handler: Callable[[Exception], Any] | None = _DEFAULTS["error_handler"]
    max_queue_size: int = _DEFAULTS["max_queue_size"]
    max_retries: int = _DEFAULTS["max_retries"]
    timeout: float = _DEFAULTS["timeout"]
    gzip: bool = _DEFAULTS["gzip"]
    shutdown_timeout: float = _DEFAULTS["shutdown_timeout"]
    flush_on_signals: bool = _DEFAULTS["flush_on_signals"]
    spool_dir: str | os.PathLike[str] | None = _DEFAULTS["spool_dir"]
    spool_max_bytes: int = _DEFAULTS["spool_max_bytes"]
    spool_fsync_interval: float = _DEFAULTS["spool_fsync_interval"]
    max_batch_size: int | None = _DEFAULTS["max_batch_size"]
    before_send: Hooks = _DEFAULTS["before_send"]
    tracking_plan: TrackingPlan | str | os.PathLike[str] | None = _DEFAULTS["tracking_plan"]
    plan_mode: PlanMode = _DEFAULTS["plan_mode"]
    allow_unplanned_events: bool = _DEFAULTS["allow_unplanned_events"]
    auto_page: bool = _DEFAULTS["auto_page"]
    page_exclude: tuple[str, ...] = DEFAULT_PAGE_EXCLUDE
    anonymous_id_cookie: str = ANONYMOUS_ID_COOKIE
    set_anonymous_id_cookie: bool = _DEFAULTS["set_anonymous_id_cookie"]
    anonymous_id_cookie_domain: str | None = _DEFAULTS["anonymous_id_cookie_domain"]
    anonymous_id_cookie_max_age: int = ONE_YEAR
    capture_ip: bool = _DEFAULTS["capture_ip"]
    forwarded_allow_ips: str | tuple[str, ...] = DEFAULT_FORWARDED_ALLOW_IPS
    anonymize_ip: bool = _DEFAULTS["anonymize_ip"]
    consent: Callable[[Any], Any] | None = _DEFAULTS["consent"]
    consent_cookie: str | None = _DEFAULTS["consent_cookie"]
    gpc_categories: tuple[str, ...] = ()
    user_id: Callable[..., Any] | None = _DEFAULTS["user_id"]
    session_id_header: str | None = _DEFAULTS["session_id_header"]
    session_id_cookie: str | None = _DEFAULTS["session_id_cookie"]
    user_id_timeout: float = _DEFAULTS["user_id_timeout"]

    def client_options(self) -> dict[str, Any]:
        """Keyword arguments for ``Analytics`` (the write key excepted)."""
        return {name: getattr(self, name) for name in CLIENT_OPTION_NAMES if name != "write_key"}


def parse_settings(
    values: Mapping[str, Any], *, name_of: Callable[[str], str] = str
) -> tuple[SegmentSettings, list[Problem]]:
    """Validate snake_case ``values``; bad ones are left at their default and reported
    (an unknown name and a bad value are ``fatal``; a missing write key is not).

    ``name_of`` turns an option name into what the user wrote (``"FLUSH_AT"``,
    ``"SEGMENT_FLUSH_AT"``), so problems speak the user's language.
    """
    accepted, problems = parse_options(values, OPTIONS, name_of=name_of)
    if not accepted.get("write_key"):
        problems.append(
            Problem(
                "write_key",
                f"{name_of('write_key')} is not set: analytics is disabled, nothing is sent",
                fatal=False,
            )
        )
    return SegmentSettings(**accepted), problems


def options_table(name_of: Callable[[str], str], **shown_defaults: str) -> str:
    """The settings as a plain-text table for an adapter's docstring: each option as the
    adapter spells it (``name_of``), its default (``shown_defaults`` overrides one, e.g.
    Django's environment fallback for the write key) and what it does."""
    rows = [
        (name_of(o.name), shown_defaults.get(o.name) or o.default_text(), o.doc) for o in OPTIONS
    ]
    width = max(len(name) for name, _, _ in rows) + 2
    return "\n".join(f"    {name:<{width}}[{default}]  {doc}" for name, default, doc in rows)


def options_markdown() -> str:
    """The settings as the README's Markdown table (a test keeps the README in step)."""
    lines = [
        "| option (ASGI keyword) | Django `SEGMENT` key | Flask config key | default | meaning |",
        "|---|---|---|---|---|",
    ]
    for o in OPTIONS:
        upper = o.name.upper()
        default = o.default_text().replace("|", "\\|")
        lines.append(f"| `{o.name}` | `{upper}` | `SEGMENT_{upper}` | {default} | {o.doc} |")
    return "\n".join(lines)


OPTIONS_MARKER = "<options table>"


def with_options_table(
    doc: str | None, name_of: Callable[[str], str], **shown_defaults: str
) -> str:
    """An adapter's module docstring with ``OPTIONS_MARKER`` replaced by its table, so
    each adapter documents every option in its own spelling from this one registry."""
    if doc is None:  # python -OO strips docstrings
        return ""
    return doc.replace(OPTIONS_MARKER, options_table(name_of, **shown_defaults))
