"""Small pieces of Python source for the generator: names, literals, docstrings.

The output must pass ``ruff format --check`` and ``ruff check`` whatever the user's line
length, so lines are kept within 88 characters, collections that could outgrow a line
are written one item per line with a trailing comma, strings use the quotes ruff
prefers, and non-ASCII text is escaped (ruff flags look-alike characters in strings).
"""

from __future__ import annotations

import hashlib
import keyword
import re
import textwrap
import unicodedata
from collections.abc import Iterable

LINE_LENGTH = 88  # ruff's default, shorter than this project's: the output fits both
# Longest generated names: a parameter line ``    name: list[TypeName] | None = None,``
# and a class line ``class TypeName(_TypeNameRequired, total=False):`` stay within
# LINE_LENGTH. A longer name is cut, with a hash of the whole so it stays unique.
MAX_NAME = 30
# A string literal whose line would be longer than this (the longest line length the
# output is checked at) is written as parts in parentheses: ruff format joins them back
# only when the whole fits on one line, and ruff check (E501) flags only longer lines.
MAX_STRING_LINE = 100
MAX_TYPE_NAME = 29
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")


def snake_name(text: str) -> str:
    """A Python identifier in snake_case for a property or event name (at most
    ``MAX_NAME`` characters)."""
    name = _snake(text)
    if len(name) <= MAX_NAME:
        return name
    return f"{name[: MAX_NAME - 7].rstrip('_')}_{_digest(text)}"


def _snake(text: str) -> str:
    # Accents dropped (café -> cafe); orderId -> order_id, HTTPCode -> http_code.
    name = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    name = re.sub(r"([a-z])([A-Z])", r"\1_\2", name)
    name = re.sub(r"([A-Z0-9]+)([A-Z][a-z])", r"\1_\2", name)
    name = re.sub(r"[^0-9A-Za-z]+", "_", name).strip("_").lower() or "value"
    if name[0].isdigit():
        name = f"n{name}"
    # keywords cannot be names; l/O/I are the names pycodestyle flags as ambiguous.
    if keyword.iskeyword(name) or name in {"l", "o", "i"}:
        name = f"{name}_"
    return name


def pascal_name(text: str) -> str:
    """A PascalCase class name for ``text`` (``order_completed`` -> ``OrderCompleted``),
    at most ``MAX_TYPE_NAME`` characters."""
    name = "".join(part[:1].upper() + part[1:] for part in _snake(text).split("_") if part)
    if len(name) <= MAX_TYPE_NAME:
        return name
    return f"{name[: MAX_TYPE_NAME - 6]}{_digest(text).upper()}"


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:6]


def unique(name: str, taken: set[str]) -> str:
    """``name``, else ``name_``, ``name_2``, ``name_3``…: the first not in ``taken``,
    which it is added to."""
    candidate, number = name, 1
    if candidate in taken and not name.endswith("_"):
        candidate = f"{name}_"
    while candidate in taken:
        number += 1
        candidate = f"{name}_{number}" if name[-1:] != "_" else f"{name}{number}"
    taken.add(candidate)
    return candidate


def is_plain_identifier(text: str) -> bool:
    return text.isidentifier() and text.isascii() and not keyword.iskeyword(text)


def string_literal(text: str) -> str:
    """A Python string literal for ``text``, quoted as ruff format quotes it."""
    quote = "'" if '"' in text and "'" not in text else '"'
    out = []
    for char in text:
        code = ord(char)
        if char in ("\\", quote):
            out.append("\\" + char)
        elif char == "\n":
            out.append("\\n")
        elif char == "\t":
            out.append("\\t")
        elif code < 0x20 or code == 0x7F:
            out.append(f"\\x{code:02x}")
        elif code > 0xFFFF:
            out.append(f"\\U{code:08x}")
        elif code > 0x7E:
            out.append(f"\\u{code:04x}")
        else:
            out.append(char)
    return quote + "".join(out) + quote


def string_lines(text: str, indent: str, before: str = "", after: str = "") -> list[str]:
    """The line ``indent + before + literal + after``; when longer than
    ``MAX_STRING_LINE``, the literal alone in parentheses, or when even that is too long,
    as implicitly joined parts in parentheses (the forms ruff format keeps)."""
    whole = string_literal(text)
    line = f"{indent}{before}{whole}{after}"
    if len(line) <= MAX_STRING_LINE:
        return [line]
    if len(indent) + 4 + len(whole) <= MAX_STRING_LINE:
        return [f"{indent}{before}(", f"{indent}    {whole}", f"{indent}){after}"]
    width = LINE_LENGTH - len(indent) - 4
    parts: list[str] = []
    current = ""
    for piece in re.findall(r"\S+\s*|\s+", text):
        for char in piece if len(string_literal(piece)) > width else [piece]:
            if current and len(string_literal(current + char)) > width:
                parts.append(current)
                current = ""
            current += char
    parts.append(current)
    inner = [f"{indent}    {string_literal(part)}" for part in parts]
    return [f"{indent}{before}(", *inner, f"{indent}){after}"]


def literal(value: object) -> str | None:
    """The source of ``value`` inside ``Literal[...]``; None when it cannot be there."""
    if isinstance(value, bool) or value is None:
        return repr(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return string_literal(value)
    return None


def docstring_text(text: str) -> str:
    """Plan text made safe inside a triple-quoted docstring. Control characters (NUL,
    ESC…) are shown as their escapes (``\\x1b``, as text): the docstring never holds one."""
    text = text.replace("\\", "\\\\").replace('"', "'")
    text = re.sub(r"\s+", " ", text).strip()
    text = _CONTROL.sub(lambda match: f"\\\\x{ord(match.group()):02x}", text)
    return "".join(char if ord(char) < 0x7F else _escape(char) for char in text)


def _escape(char: str) -> str:
    code = ord(char)
    return f"\\U{code:08x}" if code > 0xFFFF else f"\\u{code:04x}"


def wrap(text: str, indent: str, first_indent: str | None = None) -> list[str]:
    """``text`` wrapped to lines of at most ``LINE_LENGTH`` characters."""
    return textwrap.wrap(
        text,
        width=LINE_LENGTH,
        initial_indent=indent if first_indent is None else first_indent,
        subsequent_indent=indent,
        break_long_words=False,
        break_on_hyphens=False,
    ) or [indent.rstrip()]


def docstring(first: str, more: Iterable[str | list[str]], indent: str) -> list[str]:
    """A docstring's lines: ``first`` opens it, then each paragraph after a blank line
    (a list is lines kept as given, indented)."""
    lines = wrap(first, indent, first_indent=f'{indent}"""')
    for paragraph in more:
        lines.append("")
        if isinstance(paragraph, list):
            lines.extend(indent + line if line else "" for line in paragraph)
        else:
            lines.extend(wrap(paragraph, indent))
    if len(lines) == 1 and len(lines[0]) + 3 <= LINE_LENGTH:
        return [f'{lines[0]}"""']
    return [*lines, f'{indent}"""']


def bracketed(opening: str, items: list[str], closing: str, indent: str) -> list[str]:
    """``opening`` + items + ``closing`` on one line if it fits, else one item per line
    with a trailing comma (which ruff format keeps as it is)."""
    one_line = f"{indent}{opening}{', '.join(items)}{closing}"
    if len(one_line) <= LINE_LENGTH:
        return [one_line]
    return [f"{indent}{opening}", *(f"{indent}    {item}," for item in items), f"{indent}{closing}"]
