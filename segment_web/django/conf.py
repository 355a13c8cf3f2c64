"""``settings.SEGMENT`` → ``SegmentSettings``, with every problem tagged by its check id.

Nothing here raises on a bad value: the option keeps its default and the problem is
reported through the system checks (ids documented in ``segment_web.django``). Each is
a Warning: a setting that falls back to its default must not stop ``runserver`` or
``migrate``, as an Error would.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from segment_web.core.options import CLIENT_OPTION_NAMES, Problem
from segment_web.web.integration import Integration
from segment_web.web.settings import OPTION_NAMES, SegmentSettings, parse_settings

SETTING = "SEGMENT"
APP_LABEL = "segment_web"  # the Django app label of segment_web.django
ENV_WRITE_KEY = "SEGMENT_WRITE_KEY"
NO_WRITE_KEY = "segment_web.W001"
UNKNOWN_KEY = "segment_web.W002"
MIDDLEWARE_ORDER = "segment_web.W003"
NOT_A_DICT = "segment_web.W004"  # was E001
INVALID_VALUE = "segment_web.W005"  # was E002
IMPORT_FAILED = "segment_web.W006"  # was E003
CLIENT_FAILED = "segment_web.W007"  # was E004
UWSGI_WITHOUT_THREADS = "segment_web.W008"
DISABLED_IN_PRODUCTION = "segment_web.W009"

_DEFAULT_HINT = "segment_web uses the default for this option until it is fixed."
_BEFORE_SEND_HINT = (
    "Until it is fixed every message is dropped: a scrubbing hook that cannot run must not "
    "let the data it should remove through."
)


@dataclass(frozen=True)
class Issue:
    """One problem with the settings, as a system check will show it."""

    id: str
    message: str
    hint: str | None = None

    @property
    def fatal(self) -> bool:
        return self.id.startswith("segment_web.E")


def read_settings(config: Any, environ: Mapping[str, str]) -> tuple[SegmentSettings, list[Issue]]:
    """Validate the ``SEGMENT`` dict (upper-case keys); ``environ`` supplies the
    ``SEGMENT_WRITE_KEY`` fallback. Bad values are dropped (defaults apply) and reported."""
    issues: list[Issue] = []
    if config is None:
        config = {}
    if not isinstance(config, Mapping):
        issues.append(
            Issue(
                NOT_A_DICT,
                f"{SETTING} must be a dict, got {type(config).__name__}",
                "All segment_web options are at their defaults.",
            )
        )
        config = {}
    values = {str(key).lower(): value for key, value in config.items()}
    if not values.get("write_key") and environ.get(ENV_WRITE_KEY):
        values["write_key"] = environ[ENV_WRITE_KEY]
    settings, problems = parse_settings(values, name_of=str.upper)
    issues.extend(_issue(problem) for problem in problems)
    # What is wrong with BEFORE_SEND: a path that cannot be imported, or a bad value.
    broken = [p.message for p in problems if p.option == "before_send"]
    if broken:
        settings = dataclasses.replace(settings, before_send=_drop_everything(broken[0]))
    return settings, issues


def _drop_everything(problem: str) -> Callable[[Any], Any]:
    """The hook used while BEFORE_SEND is broken: the scrubbing it should do cannot be
    done, so every message is dropped (reported, logged) rather than sent unscrubbed."""

    def broken_before_send(message: Any) -> Any:
        raise RuntimeError(f"{problem}; every message is dropped until it is fixed")

    return broken_before_send


def _hint(option: str) -> str:
    return _BEFORE_SEND_HINT if option == "before_send" else _DEFAULT_HINT


def _issue(problem: Problem) -> Issue:
    if problem.option not in OPTION_NAMES:
        return Issue(UNKNOWN_KEY, problem.message, "It is ignored; check its spelling.")
    if problem.import_failed:
        return Issue(IMPORT_FAILED, problem.message, _hint(problem.option))
    if problem.option == "write_key" and not problem.fatal:
        hint = f"Set {SETTING}['WRITE_KEY'] or the {ENV_WRITE_KEY} environment variable."
        return Issue(NO_WRITE_KEY, problem.message, hint)
    return Issue(INVALID_VALUE, problem.message, _hint(problem.option))


def build_integration(settings: SegmentSettings, issues: list[Issue]) -> Integration:
    """The integration for ``settings``. ``parse_settings`` and ``Analytics`` share their
    value checks, so a refusal here means the two have drifted apart: it is reported,
    not raised, and the client keeps write key, host and ``ENABLE``, defaults otherwise."""
    try:
        return Integration(settings)
    except ValueError as error:
        hint = "Until it is fixed the client keeps WRITE_KEY, HOST and ENABLE, defaults otherwise."
        issues.append(Issue(CLIENT_FAILED, f"{SETTING} cannot build a client: {error}", hint))
    keep = {"write_key", "host", "enable"}
    defaults = SegmentSettings()
    fallback = dataclasses.replace(
        settings,
        **{name: getattr(defaults, name) for name in CLIENT_OPTION_NAMES if name not in keep},
    )
    return Integration(fallback)
