"""The client's options, in one registry: name, default, value check, documentation.

``Analytics(...)``, the adapters' settings (``segment_web.web.settings``, which adds the
web options) and the generated documentation all read this table, so an option cannot
mean one thing to the client and another to an adapter. A job-queue integration that
needs a client but no cookie or page options uses ``CLIENT_OPTIONS`` alone.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypedDict

from segment_web.core.option_rules import (
    Check,
    is_bool,
    is_int,
    is_optional_callable,
    is_optional_path,
    is_seconds,
)
from segment_web.core.pipeline import DEFAULT_MAX_IN_FLIGHT, QUEUE_FULL_MODES, QueueFullMode
from segment_web.core.processing.before_send import Hooks, check_hooks
from segment_web.core.tracing import is_trace_option
from segment_web.delivery.oauth import DEFAULT_AUTH_SERVER, DEFAULT_SCOPE
from segment_web.delivery.transport import DEFAULT_HOST, batch_endpoint
from segment_web.plan.modes import PLAN_MODES, PlanMode
from segment_web.plan.tracking_plan import TrackingPlan


def _same(value: Any) -> Any:
    return value


@dataclass(frozen=True)
class Option:
    """One option. ``check`` returns None or what is wrong ("must be …"); ``normalize``
    turns an accepted value into the one used (``flush_at`` below 1 becomes 1);
    ``annotation`` is its type as source code, for the signatures generated from this
    registry (``Analytics.__init__``, ``SegmentSettings``: ``make generate``)."""

    name: str
    default: Any
    check: Check
    doc: str
    shown_default: str | None = None  # the default as the docs show it, when repr is unclear
    normalize: Callable[[Any], Any] = _same
    annotation: str = field(kw_only=True)

    def default_text(self) -> str:
        return self.shown_default if self.shown_default is not None else repr(self.default)

    def declaration(self, defaults: str | None = None) -> str:
        """This option as a parameter or field in source code: ``flush_at: int = 20``.
        A default with no short literal is written ``{defaults}["name"]``, so the
        generated code reads it from a mapping of that name."""
        literal = source_literal(self.default)
        if literal is None:
            if defaults is None:
                raise ValueError(f"{self.name}'s default has no literal: name a defaults mapping")
            literal = f'{defaults}["{self.name}"]'
        return f"{self.name}: {self.annotation} = {literal}"


def source_literal(value: Any) -> str | None:
    """``value`` as ruff formats its literal (``10_000``, double quotes), or None when it
    has no short one."""
    if value is None or isinstance(value, bool | float):
        return repr(value)
    if isinstance(value, int):
        return f"{value:_}" if abs(value) >= 10_000 else str(value)
    if isinstance(value, str) and value.isprintable() and not set(value) & {'"', "\\"}:
        return f'"{value}"'
    if value == ():
        return "()"
    return None


@dataclass(frozen=True)
class Problem:
    """One bad option: ``option`` is the snake_case name; ``fatal`` stops start-up."""

    option: str
    message: str
    fatal: bool = True
    import_failed: bool = False  # a dotted path that could not be imported


def is_write_key(value: Any) -> str | None:
    if value is None or (isinstance(value, str) and value.strip()):
        return None
    return "must be a non-empty string (your Segment source's write key)"


def is_host(value: Any) -> str | None:
    try:
        batch_endpoint(value)
    except ValueError as error:
        return str(error)
    return None


def is_tracking_plan(value: Any) -> str | None:
    if value is None or isinstance(value, str | os.PathLike | TrackingPlan):
        return None
    return "must be a TrackingPlan or the path of a plan file (or None)"


def is_one_of(choices: tuple[str, ...]) -> Check:
    def check(value: Any) -> str | None:
        return None if value in choices else "must be one of " + ", ".join(map(repr, choices))

    return check


# Headers the client sets itself: a ``headers`` option may not replace them.
OWN_HEADERS = frozenset(
    {"authorization", "content-type", "content-encoding", "content-length", "host", "user-agent"}
)


def is_proxies(value: Any) -> str | None:
    if value is None or (
        isinstance(value, Mapping)
        and all(isinstance(k, str) and isinstance(v, str) for k, v in value.items())
    ):
        return None
    return "must be a dict of scheme (or scheme://host) to proxy URL, as requests takes it"


def is_verify(value: Any) -> str | None:
    if value is None or isinstance(value, bool) or (isinstance(value, str) and value):
        return None
    return "must be True, False or the path of a CA bundle file or directory"


def is_cert(value: Any) -> str | None:
    if value is None or (isinstance(value, str) and value):
        return None
    if (
        isinstance(value, tuple | list)
        and len(value) == 2
        and all(isinstance(v, str) for v in value)
    ):
        return None
    return "must be the path of a client certificate file, or a (cert, key) pair of paths"


def is_headers(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        return "must be a dict of header name to value (strings)"
    own = sorted(k for k in value if k.lower() in OWN_HEADERS)
    if own:
        return f"may not set {', '.join(own)} (the client sets it)"
    return None


def is_transport(value: Any) -> str | None:
    if value is None or callable(value) or callable(getattr(value, "post", None)):
        return None
    return "must be a callable or an object with post(url, body, headers, timeout)"


def is_text(value: Any) -> str | None:
    return None if isinstance(value, str) and value.strip() else "must be a non-empty string"


def is_optional_text(value: Any) -> str | None:
    return None if value is None else is_text(value)


def is_host_url(value: Any) -> str | None:
    if isinstance(value, str) and value.startswith(("https://", "http://")):
        return None
    return "must be an http(s) URL such as 'https://oauth2.segment.io'"


def as_cert(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


def at_least_one(value: int) -> int:
    return max(1, value)


CLIENT_OPTIONS: tuple[Option, ...] = (
    Option(
        "write_key",
        None,
        is_write_key,
        "your Segment source's write key",
        "—",
        annotation="str | None",
    ),
    Option(
        "host",
        DEFAULT_HOST,
        is_host,
        "tracking API: region, self-hosted endpoint",
        annotation="str",
    ),
    Option(
        "flush_at",
        20,
        is_int(),
        "messages queued before a batch is sent (1 in development); below 1 becomes 1",
        normalize=at_least_one,
        annotation="int",
    ),
    Option(
        "flush_interval",
        10.0,
        is_seconds(positive=False),
        "seconds before a partial batch",
        annotation="float",
    ),
    Option("enable", True, is_bool, "False: calls validate, nothing is sent", annotation="bool"),
    Option(
        "error_handler",
        None,
        is_optional_callable,
        "fn(exc) when a batch finally fails",
        annotation="Callable[[Exception], Any] | None",
    ),
    Option(
        "max_queue_size",
        10_000,
        is_int(minimum=1),
        "beyond it messages are dropped",
        annotation="int",
    ),
    Option(
        "max_retries",
        10,
        is_int(minimum=0),
        "retries per batch after the first try",
        annotation="int",
    ),
    Option(
        "timeout", 15.0, is_seconds(positive=True), "seconds per HTTP request", annotation="float"
    ),
    Option("gzip", True, is_bool, "compress request bodies", annotation="bool"),
    Option(
        "shutdown_timeout",
        5.0,
        is_seconds(positive=False),
        "seconds the final flush may take",
        annotation="float",
    ),
    Option(
        "flush_on_signals",
        True,
        is_bool,
        "flush before the process ends by SIGTERM (servers that re-raise it skip atexit)",
        annotation="bool",
    ),
    Option(
        "spool_dir",
        None,
        is_optional_path,
        "durable delivery: accepted messages are written here first; spools of dead "
        "processes here are taken over",
        annotation="str | os.PathLike[str] | None",
    ),
    Option(
        "spool_max_bytes",
        512 * 1024 * 1024,
        is_int(minimum=1),
        'beyond it new messages are dropped (reason "spool full")',
        "512 MiB",
        annotation="int",
    ),
    Option(
        "spool_fsync_interval",
        1.0,
        is_seconds(positive=False),
        "seconds between fsyncs of the spool (0: every message, slow)",
        annotation="float",
    ),
    Option(
        "max_batch_size",
        500,
        is_int(minimum=1),
        "under a backlog a batch grows up to this many messages (and 500 KB; never below "
        "flush_at); without one a batch goes at flush_at",
        annotation="int",
    ),
    Option(
        "max_in_flight",
        DEFAULT_MAX_IN_FLIGHT,
        is_int(minimum=1),
        "batches sent at once over kept-alive connections; a 429/Retry-After or a run of "
        "5xx slows every sender",
        annotation="int",
    ),
    Option(
        "on_queue_full",
        "drop",
        is_one_of(QUEUE_FULL_MODES),
        "'drop': drop and report, never block; 'block': the caller waits up to "
        "block_timeout seconds (jobs, imports), then drops and reports",
        annotation="QueueFullMode",
    ),
    Option(
        "block_timeout",
        10.0,
        is_seconds(positive=False),
        "with on_queue_full='block': seconds a call may wait for room in the queue",
        annotation="float",
    ),
    Option(
        "before_send",
        None,
        check_hooks,
        "fn(message) -> message or None (drop), or a sequence of them, run in order",
        annotation="Hooks",
    ),
    Option(
        "tracking_plan",
        None,
        is_tracking_plan,
        "a TrackingPlan or a plan file's path: each call is checked against it",
        annotation="TrackingPlan | str | os.PathLike[str] | None",
    ),
    Option(
        "plan_mode",
        "report",
        is_one_of(PLAN_MODES),
        "what a plan violation does: 'raise' PlanViolation, 'report' and send, 'drop'",
        annotation="PlanMode",
    ),
    Option(
        "allow_unplanned_events",
        False,
        is_bool,
        "events the plan does not list are fine",
        annotation="bool",
    ),
    Option(
        "trace_context",
        False,
        is_trace_option,
        "put the current OpenTelemetry trace and span ids on each message (context.trace)",
        annotation="bool",
    ),
    Option(
        "proxies",
        None,
        is_proxies,
        "proxies as requests takes them (merged with *_proxy)",
        annotation="Mapping[str, str] | None",
    ),
    Option(
        "verify",
        None,
        is_verify,
        "TLS check: True, False, or a CA bundle path",
        "True",
        annotation="bool | str | None",
    ),
    Option(
        "cert",
        None,
        is_cert,
        "client certificate: a path or (cert, key)",
        normalize=as_cert,
        annotation="str | tuple[str, str] | None",
    ),
    Option(
        "headers",
        None,
        is_headers,
        "extra headers on every POST",
        annotation="Mapping[str, str] | None",
    ),
    Option(
        "transport",
        None,
        is_transport,
        "your own HTTP stack: post(url, body, headers, timeout) -> (status, headers, body)",
        annotation="Any",
    ),
    Option(
        "oauth_client_id",
        None,
        is_optional_text,
        "OAuth 2.0: the app's client id",
        annotation="str | None",
    ),
    Option(
        "oauth_client_key",
        None,
        is_optional_text,
        "OAuth: its private key (PEM)",
        "None",
        annotation="str | None",
    ),
    Option(
        "oauth_key_id", None, is_optional_text, "OAuth: the id of that key", annotation="str | None"
    ),
    Option(
        "oauth_auth_server",
        DEFAULT_AUTH_SERVER,
        is_host_url,
        "OAuth: token server",
        annotation="str",
    ),
    Option("oauth_scope", DEFAULT_SCOPE, is_text, "OAuth: the scope asked for", annotation="str"),
)
CLIENT_OPTION_NAMES = tuple(option.name for option in CLIENT_OPTIONS)


# What chooses the client: the adapters may take these per request (a callable of the
# request), so their types there differ from the client's.
CLIENT_IDENTITY = ("write_key", "host")


class SharedOptions(TypedDict, total=False):
    """The keyword options ``Analytics`` and the adapters take alike."""

    # Generated from CLIENT_OPTIONS (make generate):
    # [[[cog
    # from segment_web.core.options import CLIENT_IDENTITY, CLIENT_OPTIONS
    # for option in CLIENT_OPTIONS:
    #     if option.name not in CLIENT_IDENTITY:
    #         cog.outl(f"    {option.name}: {option.annotation}")
    # ]]]
    flush_at: int
    flush_interval: float
    enable: bool
    error_handler: Callable[[Exception], Any] | None
    max_queue_size: int
    max_retries: int
    timeout: float
    gzip: bool
    shutdown_timeout: float
    flush_on_signals: bool
    spool_dir: str | os.PathLike[str] | None
    spool_max_bytes: int
    spool_fsync_interval: float
    max_batch_size: int
    max_in_flight: int
    on_queue_full: QueueFullMode
    block_timeout: float
    before_send: Hooks
    tracking_plan: TrackingPlan | str | os.PathLike[str] | None
    plan_mode: PlanMode
    allow_unplanned_events: bool
    trace_context: bool
    proxies: Mapping[str, str] | None
    verify: bool | str | None
    cert: str | tuple[str, str] | None
    headers: Mapping[str, str] | None
    transport: Any
    oauth_client_id: str | None
    oauth_client_key: str | None
    oauth_key_id: str | None
    oauth_auth_server: str
    oauth_scope: str
    # [[[end]]]


class ClientOptions(SharedOptions, total=False):
    """``Analytics``'s keyword options, to type the ``**options`` passed on to it
    (``segment_web.configure(write_key, **options)``)."""

    host: str


def require_option(name: str, value: Any, registry: Iterable[Option] = CLIENT_OPTIONS) -> Any:
    """The value to use for option ``name``; ``ValueError`` naming it when it is wrong."""
    option = next(o for o in registry if o.name == name)
    problem = option.check(value)
    if problem:
        raise ValueError(f"{name} {problem}, got {value!r}")
    return option.normalize(value)


def unknown_name(name: str, known: Iterable[str], name_of: Callable[[str], str] = str) -> str:
    """What to say about an option ``name`` that does not exist: the closest known name
    when one is close (most likely a typo: ANONYMISE_IP), else every known name."""
    names = list(known)
    close = difflib.get_close_matches(name.lower(), names, n=1, cutoff=0.75)
    if close:
        return f"{name_of(name)} is not a setting; did you mean {name_of(close[0])}?"
    return f"{name_of(name)} is not a setting; known: {', '.join(map(name_of, names))}"


def parse_options(
    values: Mapping[str, Any],
    registry: Iterable[Option],
    *,
    name_of: Callable[[str], str] = str,
) -> tuple[dict[str, Any], list[Problem]]:
    """Check snake_case ``values`` against ``registry``: the accepted values (normalised)
    and one ``Problem`` per unknown name or bad value (that option keeps its default).

    ``name_of`` turns an option name into what the user wrote (``"FLUSH_AT"``,
    ``"SEGMENT_FLUSH_AT"``), so problems speak the user's language.
    """
    options = {option.name: option for option in registry}
    accepted: dict[str, Any] = {}
    problems: list[Problem] = []
    for key, value in values.items():
        option = options.get(key)
        if option is None:
            problems.append(Problem(key, unknown_name(key, options, name_of)))
            continue
        problem = option.check(value)
        if problem:
            problems.append(Problem(key, f"{name_of(key)} {problem}, got {value!r}"))
            continue
        accepted[key] = option.normalize(value)
    return accepted, problems
