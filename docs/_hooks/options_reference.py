"""A mkdocs hook: the options reference, generated at build time from the one registry.

``docs/reference/options.md`` holds the prose and the marker below; each build replaces
the marker with a summary table and a section per option, made from the adapters'
settings registry (the client's options plus the web options), so the page cannot fall
out of step with the code.
"""

from __future__ import annotations

import dataclasses
import importlib
from typing import Any

# Where the registry lives: the only place the generator names it.
SETTINGS_MODULE = "segment_web.web.settings"
MARKER = "<!-- options table -->"

# A default's text as each adapter's users see it, where it is not the registry's.
ADAPTER_DEFAULTS = {"write_key": "—; Django also reads `$SEGMENT_WRITE_KEY`"}
# A type too long to read as annotated, in words.
TYPE_TEXT = {"before_send": "a callable, a list of callables, or `None`"}


def _type_text(annotation: object, aliases: dict[str, Any]) -> str:
    """The field's annotation as written, with the registry module's type aliases
    (``Hooks``, ``PlanMode``) spelled out."""
    text = str(annotation)
    for name, value in aliases.items():
        if name in text:
            spelled = str(value).replace("typing.", "").replace("collections.abc.", "")
            text = text.replace(name, spelled)
    return text


def options_markdown() -> str:
    """Every option: a summary table, then a section each with its name in every
    adapter, its type and default."""
    settings = importlib.import_module(SETTINGS_MODULE)
    client_names = set(settings.CLIENT_OPTION_NAMES)
    annotations = {field.name: field.type for field in dataclasses.fields(settings.SegmentSettings)}
    aliases = {
        name: value
        for name, value in vars(settings).items()
        if name[:1].isupper() and hasattr(value, "__args__")
    }
    summary = ["| option | default | meaning |", "|---|---|---|"]
    sections = []
    for option in settings.OPTIONS:
        name, upper = option.name, option.name.upper()
        default = ADAPTER_DEFAULTS.get(name) or (
            option.shown_default if option.shown_default is not None else f"`{option.default!r}`"
        )
        kind = TYPE_TEXT.get(name) or f"`{_type_text(annotations[name], aliases)}`"
        scope = "the client and the adapters" if name in client_names else "adapters only"
        summary.append(f"| [`{name}`](#{name}) | {default} | {option.doc} |")
        sections += [
            f"### `{name}` {{#{name}}}",
            "",
            option.doc,
            "",
            f"- **Type:** {kind}",
            f"- **Default:** {default}",
            f"- **Where:** {scope}",
            f"- **`Analytics` / ASGI:** `{name}=`",
            f'- **Django:** `SEGMENT["{upper}"]`',
            f"- **Flask:** `SEGMENT_{upper}`",
            "",
        ]
    return "\n".join([*summary, "", "## Every option", "", *sections])


def on_page_markdown(markdown: str, page: Any, **_: Any) -> str:
    if MARKER in markdown:
        return markdown.replace(MARKER, options_markdown())
    return markdown
