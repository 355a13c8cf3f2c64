"""``SEGMENT_*`` config keys and keyword arguments → ``SegmentSettings``.

Flask's counterpart of ``segment_web.django.conf``: the same shared ``parse_settings``
judges every value, and only the spelling of problems and how they are raised differ.
A bad value stops ``init_app`` with a ``ValueError`` listing every bad key (a Flask app
is built in code, so there is no system-check framework to report through); a missing
write key and unknown ``SEGMENT_*`` keys are only logged.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from flask import Flask

from segment_web.core.options import unknown_name
from segment_web.web.settings import OPTION_NAMES, SegmentSettings, parse_settings
from segment_web.web.users import refuse_async_resolver

logger = logging.getLogger("segment_web")

CONFIG_PREFIX = "SEGMENT_"
# The app's own SEGMENT_* keys (say, analytics.js's write key): not warned about.
IGNORE_KEYS = "SEGMENT_IGNORE_KEYS"


def config_key(option: str) -> str:
    """The Flask config key of a shared option: ``flush_at`` → ``SEGMENT_FLUSH_AT``."""
    return CONFIG_PREFIX + option.upper()


def check_option_names(options: Mapping[str, Any]) -> None:
    """``TypeError`` naming each keyword argument that is no option (with the closest
    option name when one is close)."""
    unknown = [name for name in options if name not in OPTION_NAMES]
    if unknown:
        raise TypeError(
            "Segment got unexpected keyword argument(s): "
            + "; ".join(unknown_name(name, OPTION_NAMES, repr) for name in unknown)
        )


def read_settings(app: Flask, arguments: Mapping[str, Any]) -> SegmentSettings:
    """``SEGMENT_*`` config, overridden by keyword arguments, through ``parse_settings``.

    ``None`` means "not set" (``SEGMENT_HOST = os.environ.get(...)`` keeps the default).
    A ``SEGMENT_*`` key that is no option is only warned about (most likely a misspelled
    option): apps may keep their own keys under that prefix, and list them in
    ``SEGMENT_IGNORE_KEYS`` to keep them quiet.
    """
    own = _ignored_keys(app.config.get(IGNORE_KEYS))
    values: dict[str, Any] = {}
    for key, value in app.config.items():
        if key.startswith(CONFIG_PREFIX) and value is not None and key not in own:
            values[key[len(CONFIG_PREFIX) :].lower()] = value
    given = {name: value for name, value in arguments.items() if value is not None}
    values.update(given)

    def name_of(option: str) -> str:
        return f"{option}= (argument)" if option in given else config_key(option)

    settings, problems = parse_settings(values, name_of=name_of)
    refuse_async_resolver(settings.user_id, name_of("user_id"), "the Flask extension")
    fatal = [p.message for p in problems if p.fatal and p.option in OPTION_NAMES]
    if fatal:
        raise ValueError(
            f"segment_web: invalid Segment settings for the Flask app {app.name!r}:\n- "
            + "\n- ".join(fatal)
        )
    for problem in problems:
        ignored = " (ignored)" if problem.option not in OPTION_NAMES else ""
        logger.warning("segment_web: %s%s", problem.message, ignored)
    return settings


def _ignored_keys(value: Any) -> frozenset[str]:
    """``SEGMENT_IGNORE_KEYS`` (itself among them): a list of full config key names."""
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list | tuple | set | frozenset) or not all(
        isinstance(key, str) for key in value
    ):
        if value is not None:
            logger.warning(
                "segment_web: %s must be a list of config key names, got %r (ignored)",
                IGNORE_KEYS,
                value,
            )
        value = ()
    return frozenset([IGNORE_KEYS, *value])
