"""Python types for JSON Schemas, for the generator: annotations plus the definitions
they need (a ``TypedDict`` per nested object, a ``Literal`` alias per enum)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from segment_web.plan.pysource import (
    MAX_STRING_LINE,
    bracketed,
    docstring,
    docstring_text,
    is_plain_identifier,
    literal,
    pascal_name,
    snake_name,
    string_lines,
    string_literal,
    unique,
)

_SCALARS = {"string": "str", "integer": "int", "number": "float", "boolean": "bool", "null": "None"}


@dataclass(frozen=True)
class Field:
    """One property (or trait): its wire ``key``, Python ``param`` name and type."""

    key: str
    param: str
    annotation: str
    required: bool
    description: str


@dataclass
class TypeBuilder:
    """Collects the definitions of one generated module, with module-wide unique names."""

    definitions: list[list[str]] = field(default_factory=list)
    names: set[str] = field(default_factory=set)
    imports: set[str] = field(default_factory=set)  # names used from ``typing``

    def fields(
        self, schema: Mapping[str, Any], root: Mapping[str, Any], owner: str, taken: set[str]
    ) -> list[Field]:
        """The properties of object ``schema``; ``taken`` holds parameter names in use."""
        schema = self._resolve(schema, root, set())
        properties = schema.get("properties")
        if not isinstance(properties, Mapping):
            return []
        required = set(schema.get("required") or ())
        found = []
        for key, property_schema in properties.items():
            owner_name = f"{owner}_{key}"
            found.append(
                Field(
                    key=key,
                    param=unique(snake_name(key), taken),
                    annotation=self.annotation(property_schema, root, owner_name),
                    required=key in required,
                    description=_description(property_schema),
                )
            )
        return found

    def annotation(
        self,
        schema: object,
        root: Mapping[str, Any],
        owner: str,
        seen: frozenset[str] = frozenset(),
    ) -> str:
        """The Python type of values matching ``schema``; ``owner`` names what it types."""
        if not isinstance(schema, Mapping):
            return self._any()
        reference = schema.get("$ref")
        if isinstance(reference, str):
            if reference in seen:  # a recursive schema: typed loosely at the recursion
                return self._any()
            target = _follow(reference, root)
            if target is None:
                return self._any()
            return self.annotation(target, root, owner, seen | {reference})
        if "const" in schema:
            alias = self._literal_alias([schema["const"]], owner)
            if alias:
                return alias
        if isinstance(schema.get("enum"), list):
            alias = self._literal_alias(schema["enum"], owner)
            if alias:
                return alias
        for combiner in ("anyOf", "oneOf"):
            options = schema.get(combiner)
            if isinstance(options, list) and options:
                return _union(
                    [
                        self.annotation(option, root, f"{owner}_option{index + 1}", seen)
                        for index, option in enumerate(options)
                    ]
                )
        kinds = schema.get("type")
        if kinds is None and "properties" in schema:
            kinds = "object"
        if isinstance(kinds, str):
            kinds = [kinds]
        if not isinstance(kinds, list) or not kinds:
            return self._any()
        return _union([self._of_type(kind, schema, root, owner, seen) for kind in kinds])

    def _of_type(
        self,
        kind: object,
        schema: Mapping[str, Any],
        root: Mapping[str, Any],
        owner: str,
        seen: frozenset[str],
    ) -> str:
        if kind in _SCALARS:
            return _SCALARS[str(kind)]
        if kind == "array":
            items = schema.get("items")
            if isinstance(items, Mapping):
                return f"list[{self.annotation(items, root, f'{owner}_item', seen)}]"
            return f"list[{self._any()}]"
        if kind == "object":
            properties = schema.get("properties")
            if isinstance(properties, Mapping) and properties:
                return self._typed_dict(schema, root, owner, seen)
            extra = schema.get("additionalProperties")
            if isinstance(extra, Mapping):
                return f"dict[str, {self.annotation(extra, root, f'{owner}_value', seen)}]"
            return f"dict[str, {self._any()}]"
        return self._any()

    def _typed_dict(
        self, schema: Mapping[str, Any], root: Mapping[str, Any], owner: str, seen: frozenset[str]
    ) -> str:
        name = unique(pascal_name(owner), self.names)
        self.imports.add("TypedDict")
        required = set(schema.get("required") or ())
        entries = [
            (key, self.annotation(value, root, f"{owner}_{key}", seen), key in required)
            for key, value in schema["properties"].items()
        ]
        description = _description(schema) or f"The {owner.replace('_', ' ')} object."
        self.definitions.append(_typed_dict_source(name, entries, docstring_text(description)))
        return name

    def _literal_alias(self, values: list[Any], owner: str) -> str | None:
        sources = [literal(value) for value in values]
        if not sources or None in sources:
            return None  # floats, objects…: typed by the schema's "type" instead
        members = [str(source) for source in dict.fromkeys(sources) if source != "None"]
        nullable = "None" in sources
        if not members:
            return "None"
        name = unique(pascal_name(owner), self.names)
        self.imports.add("Literal")
        if all(len(member) + 5 <= MAX_STRING_LINE for member in members):
            self.definitions.append(bracketed(f"{name} = Literal[", members, "]", ""))
        else:  # a long string: one member per line, in parts
            lines = [f"{name} = Literal["]
            by_source = {str(literal(value)): value for value in reversed(values)}
            for source in members:
                value = by_source[source]
                if isinstance(value, str):
                    lines += string_lines(value, "    ", "", ",")
                else:
                    lines.append(f"    {source},")
            self.definitions.append([*lines, "]"])
        return f"{name} | None" if nullable else name

    def _any(self) -> str:
        self.imports.add("Any")
        return "Any"

    def _resolve(
        self, schema: Mapping[str, Any], root: Mapping[str, Any], seen: set[str]
    ) -> Mapping[str, Any]:
        reference = schema.get("$ref")
        if isinstance(reference, str) and reference not in seen:
            target = _follow(reference, root)
            if target is not None:
                return self._resolve(target, root, seen | {reference})
        return schema


def _typed_dict_source(name: str, entries: list[tuple[str, str, bool]], doc: str) -> list[str]:
    required = [entry for entry in entries if entry[2]]
    optional = [entry for entry in entries if not entry[2]]
    if not all(is_plain_identifier(key) for key, _, _ in entries):
        # Keys that are not identifiers need the functional form, which cannot mix
        # required and optional keys before Python 3.11: all are optional then, and
        # the plan check still enforces the required ones.
        lines = [f"{name} = TypedDict(", f"    {string_literal(name)},", "    {"]
        for key, annotation, _ in entries:
            lines += string_lines(key, "        ", "", f": {annotation},")
        lines += ["    },", *(["    total=False,"] if optional else []), ")"]
        return lines
    if required and optional:
        base = f"_{name}Required"
        lines = [f"class {base}(TypedDict):"]
        lines += [f"    {key}: {annotation}" for key, annotation, _ in required]
        lines += ["", ""]
        lines += [f"class {name}({base}, total=False):"]
        body = optional
    else:
        lines = [f"class {name}(TypedDict{'' if required else ', total=False'}):"]
        body = entries
    lines += docstring(doc, [], "    ")
    lines.append("")
    lines += [f"    {key}: {annotation}" for key, annotation, _ in body]
    return lines


def _union(parts: list[str]) -> str:
    unique_parts = list(dict.fromkeys(parts))
    if "Any" in unique_parts:
        return "Any"
    if "None" in unique_parts:  # None last, as people write it
        unique_parts = [part for part in unique_parts if part != "None"] + ["None"]
    return " | ".join(unique_parts)


def _follow(reference: str, root: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The schema a local ``#/...`` reference points at; None for anything else."""
    if not reference.startswith("#"):
        return None
    node: Any = root
    for part in reference[1:].split("/")[1:]:
        part = part.replace("~1", "/").replace("~0", "~")
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    return node if isinstance(node, Mapping) else None


def _description(schema: object) -> str:
    if isinstance(schema, Mapping) and isinstance(schema.get("description"), str):
        return str(schema["description"])
    return ""
