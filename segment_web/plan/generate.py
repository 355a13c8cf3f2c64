"""Writing a Python module of typed Segment calls from a tracking plan.

One keyword-only function per event (``order_completed(*, order_id: str, ...) -> str``)
that calls ``segment_web.track`` (so inside a request it uses the request's handle) or
the ``client`` it is given, plus ``identify``/``group`` helpers when the plan has rules
for them. The output is the same for the same plan, byte for byte.
"""

from __future__ import annotations

from collections.abc import Iterable

from segment_web.plan.pysource import (
    LINE_LENGTH,
    docstring,
    docstring_text,
    snake_name,
    string_lines,
    string_literal,
    unique,
    wrap,
)
from segment_web.plan.schema_types import Field, TypeBuilder
from segment_web.plan.tracking_plan import Rule, TrackingPlan

# The call's own keywords, after the properties: (name, annotation).
CALL_KEYWORDS = (
    ("user_id", "str | int | None"),
    ("anonymous_id", "str | int | None"),
    ("timestamp", "dt.datetime | None"),
    ("context", "Mapping[str, Any] | None"),
    ("integrations", "Mapping[str, Any] | None"),
    ("callback", "Callable[[Exception | None, Batch], None] | None"),
    ("client", "Analytics | RequestAnalytics | None"),
)
# The builtins the generated code names: a parameter or function of the same name would
# hide them from the annotations after it.
_BUILTINS_USED = {"str", "int", "float", "bool", "dict", "list"}
# Names a property parameter must not take: the call's keywords, and what the bodies use.
_RESERVED = (
    {name for name, _ in CALL_KEYWORDS} | {"segment_web", "dt", "calls", "fields"} | _BUILTINS_USED
)
# Every name the module imports (an event "Request" with an object property "analytics"
# would otherwise define a TypedDict RequestAnalytics over the imported class).
_MODULE_NAMES = {
    "annotations",
    "segment_web",
    "dt",
    "Any",
    "Callable",
    "Mapping",
    "Literal",
    "TypedDict",
    "Analytics",
    "Batch",
    "RequestAnalytics",
    "None",
    "True",
    "False",
}
_CALL_KEYWORDS_DOC = (
    "The call's own keywords (user_id, anonymous_id, timestamp, context, integrations, "
    "callback) are those of segment_web.{call}; client sends through that Analytics "
    "or request handle instead of the current one."
)


def generate_module(plan: TrackingPlan, plan_file: str) -> str:
    """The source of the module for ``plan``; ``plan_file`` is named in its header."""
    types = TypeBuilder(names=set(_MODULE_NAMES))
    functions: list[list[str]] = []
    function_names = set(_MODULE_NAMES) | _BUILTINS_USED | {"identify", "group"}
    for name, rule in plan.events.items():
        python_name = unique(snake_name(name), function_names)
        functions.append(_event_function(python_name, rule, types))
    for call, traits_rule in (("identify", plan.identify), ("group", plan.group)):
        if traits_rule is not None:
            functions.append(_traits_function(call, traits_rule, types))
    header = "\n".join(_header(plan, plan_file)) + "\n\n"
    imports = "\n".join(_imports(types.imports))
    blocks = [*types.definitions, *functions]
    # isort's rule: one blank line after the imports, two before a class or def.
    after_imports = "\n\n\n" if blocks[0][0].startswith(("class ", "def ")) else "\n\n"
    body = "\n\n\n".join("\n".join(block) for block in blocks)
    return header + imports + after_imports + body + "\n"


def _header(plan: TrackingPlan, plan_file: str) -> list[str]:
    version = f", version {plan.version}" if plan.version else ""
    return docstring(
        docstring_text(f"Typed Segment calls for the tracking plan {plan.name!r}{version}."),
        [
            docstring_text(
                f"Generated from {plan_file} (sha256 {plan.digest}) by "
                f"`python -m segment_web.plan generate`: edit the plan and regenerate "
                "rather than editing this file."
            )
        ],
        "",
    )


def _imports(typing_names: set[str]) -> list[str]:
    typing_line = ", ".join(sorted({"Any", *typing_names}))
    return [
        "from __future__ import annotations",
        "",
        "import datetime as dt",
        "from collections.abc import Callable, Mapping",
        f"from typing import {typing_line}",
        "",
        "import segment_web",
        "from segment_web import Analytics, Batch, RequestAnalytics",
    ]


def _event_function(python_name: str, rule: Rule, types: TypeBuilder) -> list[str]:
    fields = types.fields(
        rule.fields_schema("properties"), rule.schema, python_name, set(_RESERVED)
    )
    version = f" (version {rule.version})" if rule.version is not None else ""
    summary = f"Track {rule.name!r}{version}."
    return _function(
        python_name,
        fields,
        summary,
        rule.description,
        call="track",
        leading=[],
        arguments=[
            *string_lines(rule.name, "        ", "event=", ","),
            "        properties=fields,",
        ],
    )


def _traits_function(call: str, rule: Rule, types: TypeBuilder) -> list[str]:
    taken = set(_RESERVED) | {"group_id"}
    fields = types.fields(rule.fields_schema("traits"), rule.schema, call, taken)
    leading = [("group_id", "str | int")] if call == "group" else []
    arguments = ["        group_id=group_id,"] if call == "group" else []
    summary = f"{call.capitalize()} with the traits the tracking plan defines."
    return _function(
        call,
        fields,
        summary,
        rule.description,
        call=call,
        leading=leading,
        arguments=[*arguments, "        traits=fields,"],
    )


def _function(
    python_name: str,
    fields: list[Field],
    summary: str,
    description: str,
    *,
    call: str,
    leading: list[tuple[str, str]],
    arguments: list[str],
) -> list[str]:
    ordered = [field for field in fields if field.required]
    ordered += [field for field in fields if not field.required]
    parameters = [f"{name}: {annotation}" for name, annotation in leading]
    for field in ordered:
        default = "" if field.required else " = None"
        optional = "" if field.required or field.annotation.endswith("None") else " | None"
        parameters.append(f"{field.param}: {field.annotation}{optional}{default}")
    parameters += [f"{name}: {annotation} = None" for name, annotation in CALL_KEYWORDS]
    lines = [f"def {python_name}(", "    *,"]
    lines += [f"    {parameter}," for parameter in parameters]
    lines.append(") -> str:")
    lines += docstring(
        docstring_text(summary),
        [
            *([docstring_text(description)] if description else []),
            *([_args_doc(ordered)] if ordered else []),
            docstring_text(_CALL_KEYWORDS_DOC.format(call=call)),
        ],
        "    ",
    )
    lines += _fields_dict([field for field in ordered if field.required])
    for field in ordered:
        if not field.required:
            lines.append(f"    if {field.param} is not None:")
            lines += _set_field(field.key, field.param)
    lines.append("    calls = segment_web.current() if client is None else client")
    lines.append(f"    return calls.{call}(")
    lines += arguments  # whole lines: a long event name takes several
    lines += [f"        {name}={name}," for name, _ in CALL_KEYWORDS[:-1]]
    lines.append("    )")
    return lines


def _set_field(key: str, param: str) -> list[str]:
    """``fields[key] = param``, in a form ruff format keeps at any line length when the
    key is too long for one line (ruff would split the subscript at 88, not at 100)."""
    line = f"        fields[{string_literal(key)}] = {param}"
    if len(line) <= LINE_LENGTH:
        return [line]
    entry = string_lines(key, "                ", "", f": {param},")
    return ["        fields.update(", "            {", *entry, "            },", "        )"]


def _fields_dict(required: list[Field]) -> list[str]:
    if not required:
        return ["    fields: dict[str, Any] = {}"]
    lines = ["    fields: dict[str, Any] = {"]
    for field in required:
        lines += string_lines(field.key, "        ", "", f": {field.param},")
    return [*lines, "    }"]


def _args_doc(fields: Iterable[Field]) -> list[str]:
    lines = ["Args:"]
    for field in fields:
        about = field.description or f"property {field.key!r}."
        if field.description and field.param != field.key:
            about = f"(property {field.key!r}) {about}"
        text = docstring_text(f"{field.param}: {about}")
        # Wrapped at the docstring's own indent; the docstring adds four spaces back.
        lines += [line[4:] for line in wrap(text, " " * 12, first_indent=" " * 8)]
    return lines
