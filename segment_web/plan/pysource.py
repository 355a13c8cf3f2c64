"""Small pieces of Python source for the generator: names, literals, docstrings.

The output must pass ``ruff format --check`` and ``ruff check`` whatever the user's line
length, so lines are kept within 88 characters, collections that could outgrow a line
are written one item per line with a trailing comma, strings use the quotes ruff
prefers, and non-ASCII text is escaped (ruff flags look-alike characters in strings).
"""

from __future__ import annotations

import keyword
import re
import textwrap
import unicodedata
from collections.abc import Iterable

LINE_LENGTH = 88  # ruff's default, shorter than this project's: the output fits both


def snake_name(text: str) -> str:
    """A Python identifier in snake_case for a property or event name."""
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
    """A PascalCase class name for ``text`` (``order_completed`` -> ``OrderCompleted``)."""
    return "".join(part[:1].upper() + part[1:] for part in snake_name(text).split("_") if part)


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
    """Plan text made safe inside a triple-quoted docstring."""
    text = text.replace("\\", "\\\\").replace('"', "'")
    text = re.sub(r"\s+", " ", text).strip()
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
