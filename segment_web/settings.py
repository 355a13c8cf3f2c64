"""The options every adapter accepts, in one table: names, defaults and validation.

Django reads them from ``SEGMENT = {"WRITE_KEY": ...}`` (upper case), Flask from
``SEGMENT_WRITE_KEY``-style config keys, the ASGI middleware from keyword arguments
(snake_case). All three go through ``parse_settings`` here, so a value is judged the
same way everywhere and an error names the option and what it accepts.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from .client import Analytics
from .option_checks import is_bool, is_int, is_optional_callable, is_seconds
from .transport import DEFAULT_HOST, batch_endpoint

# Anchored: a pattern must match the whole path (see context.PageRules).
DEFAULT_PAGE_EXCLUDE: tuple[str, ...] = (
    r"/(static|media|assets)/.*",
    r"/(health|healthz|healthcheck|ready|readyz|live|livez|ping|status)",
    r"/favicon\.ico",
    r"/robots\.txt",
    r".*\.(css|js|mjs|map|png|jpe?g|gif|svg|ico|webp|avif|woff2?|ttf|eot|txt|xml|json)",
)
DEFAULT_FORWARDED_ALLOW_IPS = "127.0.0.1,::1"
ANONYMOUS_ID_COOKIE = "ajs_anonymous_id"
# A site without a write key keeps running; its client validates calls and sends nothing.
MISSING_WRITE_KEY = "segment-web-missing-write-key"


@dataclass(frozen=True)
class SegmentSettings:
    """Every adapter option with its default. Build it with ``parse_settings``."""

    write_key: str | None = None
    host: str = DEFAULT_HOST
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
    auto_page: bool = True
    page_exclude: tuple[str, ...] = DEFAULT_PAGE_EXCLUDE
    anonymous_id_cookie: str = ANONYMOUS_ID_COOKIE
    set_anonymous_id_cookie: bool = True
    anonymous_id_cookie_domain: str | None = None
    anonymous_id_cookie_max_age: int = 365 * 24 * 3600
    capture_ip: bool = True
    forwarded_allow_ips: str | tuple[str, ...] = DEFAULT_FORWARDED_ALLOW_IPS
    user_id: Callable[..., Any] | None = None

    def client_options(self) -> dict[str, Any]:
        """Keyword arguments for ``Analytics`` (the write key excepted)."""
        return {name: getattr(self, name) for name in CLIENT_OPTIONS if name != "write_key"}

    def build_client(self) -> Analytics:
        """The client these settings describe; disabled when there is no write key."""
        options = self.client_options()
        if not self.write_key:
            options["enable"] = False
        return Analytics(self.write_key or MISSING_WRITE_KEY, **options)


CLIENT_OPTIONS = (
    "write_key",
    "host",
    "flush_at",
    "flush_interval",
    "enable",
    "error_handler",
    "max_queue_size",
    "max_retries",
    "timeout",
    "gzip",
    "shutdown_timeout",
    "flush_on_signals",
)
OPTION_NAMES = tuple(field.name for field in dataclasses.fields(SegmentSettings))


@dataclass(frozen=True)
class Problem:
    """One bad setting: ``option`` is the snake_case name; ``fatal`` stops start-up."""

    option: str
    message: str
    fatal: bool = True


def _is_write_key(value: Any) -> str | None:
    if value is None or (isinstance(value, str) and value.strip()):
        return None
    return "must be a non-empty string (your Segment source's write key)"


def _is_host(value: Any) -> str | None:
    try:
        batch_endpoint(value)
    except ValueError as error:
        return str(error)
    return None


def _is_cookie_name(value: Any) -> str | None:
    if isinstance(value, str) and re.fullmatch(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+", value):
        return None
    return "must be a valid cookie name such as 'ajs_anonymous_id'"


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


_CHECKS: dict[str, Callable[[Any], str | None]] = {
    "write_key": _is_write_key,
    "host": _is_host,
    "flush_at": is_int(minimum=1),
    "flush_interval": is_seconds(positive=False),
    "enable": is_bool,
    "error_handler": is_optional_callable,
    "max_queue_size": is_int(minimum=1),
    "max_retries": is_int(minimum=0),
    "timeout": is_seconds(positive=True),
    "gzip": is_bool,
    "shutdown_timeout": is_seconds(positive=False),
    "flush_on_signals": is_bool,
    "auto_page": is_bool,
    "page_exclude": _is_patterns,
    "anonymous_id_cookie": _is_cookie_name,
    "set_anonymous_id_cookie": is_bool,
    "anonymous_id_cookie_domain": _is_optional_str,
    "anonymous_id_cookie_max_age": is_int(minimum=0),
    "capture_ip": is_bool,
    "forwarded_allow_ips": _is_ip_list,
    "user_id": is_optional_callable,
}


def parse_settings(
    values: Mapping[str, Any], *, name_of: Callable[[str], str] = str
) -> tuple[SegmentSettings, list[Problem]]:
    """Validate snake_case ``values``; bad ones are left at their default and reported.

    ``name_of`` turns an option name into what the user wrote (``"FLUSH_AT"``,
    ``"SEGMENT_FLUSH_AT"``), so problems speak the user's language.
    """
    problems: list[Problem] = []
    accepted: dict[str, Any] = {}
    for key, value in values.items():
        check = _CHECKS.get(key)
        if check is None:
            known = ", ".join(name_of(option) for option in OPTION_NAMES)
            problems.append(Problem(key, f"{name_of(key)} is not a setting; known: {known}"))
            continue
        problem = check(value)
        if problem:
            problems.append(Problem(key, f"{name_of(key)} {problem}, got {value!r}"))
            continue
        if isinstance(value, list):
            value = tuple(value)
        accepted[key] = value
    if not accepted.get("write_key"):
        problems.append(
            Problem(
                "write_key",
                f"{name_of('write_key')} is not set: analytics is disabled, nothing is sent",
                fatal=False,
            )
        )
    return SegmentSettings(**accepted), problems
