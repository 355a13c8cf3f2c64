"""The regular expressions of a tracking plan (``pattern``, ``patternProperties``),
matched so that no value a visitor sends can stall the call that checks it.

Python's ``re`` backtracks: ``^(a+)+$`` against 24 ``a`` and a ``!`` takes seconds, and
each character more doubles it, on the request thread, holding the GIL. So:

- With ``google-re2`` installed (``pip install "segment-web[plan-re2]"``) every pattern
  is matched by RE2, whose time is linear in the value's length whatever the pattern.
  A pattern RE2 cannot run (backreferences, lookaround) is refused when the plan loads.
- Without it, Python's ``re`` runs only patterns whose worst case is small, and only on
  values of at most ``MAX_BACKTRACKING_INPUT`` characters. When the plan loads, each
  pattern is refused (``PlanError``) if it has a backreference or a lookaround (which RE2
  refuses too, so a plan works the same with or without it), a repetition of something
  that itself repeats or has alternatives (``(a+)+``, ``(a|ab)*``: exponential), or
  repetitions whose choices multiply past ``MAX_BACKTRACKING_STEPS`` on the longest value
  (``\\d+-\\d+`` is refused: two unbounded repetitions are quadratic per starting position).
  A longer value is reported as a violation of the pattern rather than matched.

Both engines are fed by the same ``Regexes`` object, which compiles each pattern once
when the plan loads; the plan's JSON Schema checks call ``search`` for every
``pattern``, ``patternProperties`` and ``additionalProperties`` decision.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

try:
    import re2 as _re2  # type: ignore[import-untyped]  # google-re2 ships no type hints
except ImportError:  # the plan-re2 extra is not installed
    _re2 = None

MAX_BACKTRACKING_INPUT = 1024  # characters a value may have to be matched by Python's re
MAX_BACKTRACKING_STEPS = 1 << 22  # about 40 ms of the regex engine's work, at worst
_UNBOUNDED = MAX_BACKTRACKING_INPUT  # the choices an unbounded repetition has, at most


class UnsafePattern(ValueError):
    """A pattern the plan may not use: the reason is the message."""


class TooLong(ValueError):
    """A value too long to be matched safely by the backtracking engine."""


def re2_available() -> bool:
    return _re2 is not None


class Regexes:
    """The compiled patterns of one plan. ``check(pattern)`` when the plan loads (raises
    ``UnsafePattern``); ``search(pattern, text)`` when a message is checked (raises
    ``TooLong`` for a value Python's ``re`` must not be given)."""

    def __init__(self, *, use_re2: bool | None = None) -> None:
        self.use_re2 = re2_available() if use_re2 is None else use_re2
        self._compiled: dict[str, Callable[[str], Any]] = {}

    @property
    def engine(self) -> str:
        return "re2" if self.use_re2 else "re"

    def check(self, pattern: str) -> None:
        if pattern in self._compiled:
            return
        if self.use_re2:
            options = _re2.Options()
            options.log_errors = False  # RE2 would print its reason on stderr as well
            try:
                compiled = _re2.compile(pattern, options)
            except Exception as error:  # re2.error, and its own odd cases
                raise UnsafePattern(
                    f"RE2 cannot run {pattern!r} (no backreferences or lookaround): {error}"
                ) from None
        else:
            try:
                compiled = re.compile(pattern)
            except re.error as error:
                raise UnsafePattern(
                    f"{pattern!r} is not a valid regular expression: {error}"
                ) from None
            _check_backtracking(pattern)
        self._compiled[pattern] = compiled.search

    def search(self, pattern: str, text: str) -> bool:
        search = self._compiled.get(pattern)
        if search is None:  # a pattern load time did not see: checked now, once
            self.check(pattern)
            search = self._compiled[pattern]
        if not self.use_re2 and len(text) > MAX_BACKTRACKING_INPUT:
            raise TooLong(
                f"a value of {len(text)} characters is too long to be matched against "
                f"{pattern!r} (at most {MAX_BACKTRACKING_INPUT} without google-re2)"
            )
        return search(text) is not None


# One token of a pattern: an escape, a character class, a comment, a group's opening, a
# quantifier, or any other single character.
_TOKEN = re.compile(
    r"""
    (?P<escape>\\(?:[0-9]+|.))
  | (?P<klass>\[\^?\]?(?:\\.|[^\]\\])*\])
  | (?P<comment>\(\?\#[^)]*\))
  | (?P<open>\((?:\?(?:P<\w+>|P=\w+\)|<=|<!|\(|[=!:>]|[aiLmsux]*(?:-[imsx]+)?[:)]))?)
  | (?P<close>\))
  | (?P<quantifier>(?:[*+?]|\{[0-9]*(?:,[0-9]*)?\})[?+]?)
  | (?P<other>.)
    """,
    re.VERBOSE | re.DOTALL,
)
_REFUSED_GROUPS = {
    "(?=": "a lookahead",
    "(?!": "a lookahead",
    "(?<=": "a lookbehind",
    "(?<!": "a lookbehind",
    "(?P=": "a backreference",
    "(?(": "a conditional group",
}


class _Group:
    """What one group of the pattern holds, for the backtracking estimate: the choices
    of its branches (summed: one branch is taken) and of the current one (multiplied)."""

    def __init__(self) -> None:
        self.repeats = False  # holds a repetition of more than one time
        self.alternatives = False
        self.other_branches = 0
        self.steps = 1
        self.last_steps = 1  # the last atom's own choices (a group's, for its quantifier)
        self.last_repeats = False  # the last atom repeats or has alternatives inside

    @property
    def total(self) -> int:
        return self.other_branches + self.steps


def _check_backtracking(pattern: str) -> None:
    """Raise ``UnsafePattern`` when Python's backtracking could take long on ``pattern``."""
    stack = [_Group()]
    for token in _TOKEN.finditer(pattern):
        kind, text = token.lastgroup, token.group()
        group = stack[-1]
        if kind == "comment":
            continue
        if kind == "escape" and text[1:].isdigit() and not text[1:].startswith("0"):
            raise UnsafePattern(f"{pattern!r} has a backreference ({text})")
        if kind == "open":
            for prefix, what in _REFUSED_GROUPS.items():
                if text.startswith(prefix):
                    raise UnsafePattern(f"{pattern!r} has {what} ({text})")
            if not text.endswith(")"):  # "(?i)" sets a flag and opens no group
                stack.append(_Group())
            continue
        if kind == "close" and len(stack) > 1:
            inner = stack.pop()
            group = stack[-1]
            group.steps *= inner.total
            group.last_steps = inner.total
            group.last_repeats = inner.repeats or inner.alternatives
            group.repeats |= inner.repeats
            continue
        if kind == "quantifier":
            choices, repeats = _choices(text)
            if repeats and (group.last_repeats or group.last_steps > 1):
                raise UnsafePattern(
                    f"{pattern!r} repeats something that itself repeats or has choices "
                    "(exponential backtracking); install google-re2 or simplify it"
                )
            group.steps *= choices  # the atom's own choices were counted already
            group.repeats |= repeats
            group.last_repeats |= repeats
            if MAX_BACKTRACKING_INPUT * group.steps > MAX_BACKTRACKING_STEPS:
                raise UnsafePattern(
                    f"{pattern!r} has repetitions whose choices multiply past the bound "
                    "for Python's backtracking engine (such as two unbounded ones in a "
                    "row); install google-re2 or simplify it"
                )
            continue
        if text == "|" and kind == "other":
            group.alternatives = True
            group.other_branches += group.steps
            group.steps = 1
        group.last_steps, group.last_repeats = 1, False


def _choices(quantifier: str) -> tuple[int, bool]:
    """How many lengths a quantifier lets its atom take (unbounded: as many as the
    longest value has characters), and whether it repeats the atom more than once."""
    if quantifier[0] in "*+":
        return _UNBOUNDED, True
    if quantifier[0] == "?":
        return 2, False
    body = quantifier[1 : quantifier.index("}")]
    low_text, comma, high_text = body.partition(",")
    low = int(low_text or 0)
    if not comma:
        return 1, low > 1
    if not high_text:
        return _UNBOUNDED, True
    high = int(high_text)
    return max(1, min(high - low + 1, _UNBOUNDED)), high > 1
