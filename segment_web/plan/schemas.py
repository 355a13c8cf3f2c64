"""JSON Schema work for tracking plans (extra ``[plan]``): checking a rule's schema,
compiling it once, and turning its errors into ``Violation``s.

Two libraries, each for what it does best: ``jsonschema`` checks the plan's schemas and
words every violation; ``fastjsonschema`` compiles each schema to Python code, which
answers "valid?" about ten times faster on the caller's thread (CPython 3.11). Only a message it
finds invalid (rare) is looked at by ``jsonschema``, whose verdict is final.

A plan is untrusted input, and checking a call must neither fetch anything nor hang:

- every reference keyword (``$ref``, ``$dynamicRef``, ``$recursiveRef``) must point
  inside the plan (``#...``), or the plan is refused when it loads; the validators are
  given a registry that never retrieves, and fastjsonschema handlers that refuse every
  URL, in case a base URI (``$id``) still turns a local reference into a remote one;
- regular expressions are compiled and vetted when the plan loads and matched by
  ``regexes.Regexes`` (RE2 when installed, else bounded backtracking): jsonschema's own
  ``pattern``, ``patternProperties`` and ``additionalProperties`` are replaced by ones
  that use it, and fastjsonschema (which would run Python's ``re`` unbounded) is not
  used for a schema that has a regular expression.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, NoReturn

from segment_web.plan.regexes import Regexes, TooLong, UnsafePattern
from segment_web.plan.violation import Violation

if TYPE_CHECKING:
    from jsonschema.protocols import Validator

# The drafts fastjsonschema implements; other schemas are judged by jsonschema alone.
_FAST_DRAFTS = (
    "",
    "http://json-schema.org/draft-04/schema",
    "http://json-schema.org/draft-06/schema",
    "http://json-schema.org/draft-07/schema",
)
MAX_RULE_TEXT = 200  # a rule's text quotes the value; a huge value must not make a huge log
REFERENCE_KEYWORDS = ("$ref", "$dynamicRef", "$recursiveRef")
# Keywords whose values are data, not schemas: a "$ref" key inside them is no reference.
_DATA_KEYWORDS = frozenset({"const", "enum", "default", "examples"})
# Keywords whose values map names to schemas.
_NAMED_SCHEMAS = frozenset(
    {"properties", "patternProperties", "definitions", "$defs", "dependentSchemas", "dependencies"}
)
# The URL schemes urllib opens (fastjsonschema's fallback for a scheme it has no handler for)
_URL_SCHEMES = ("http", "https", "file", "ftp", "data")


class PlanError(ValueError):
    """The tracking plan is unusable; the message names the file and the rule."""


def compile_schema(schema: object, where: str) -> Validator:
    """Check ``schema`` against its draft's meta-schema and build its validator once.

    ``where`` names the rule for the error (``events[2] 'Order Completed' rules``).
    """
    try:
        import jsonschema
        import jsonschema.validators
    except ImportError:
        raise ImportError(
            "tracking plans need the jsonschema package: pip install 'segment-web[plan]'"
        ) from None
    if not isinstance(schema, Mapping):
        raise PlanError(f"{where}: must be a JSON Schema object, got {type(schema).__name__}")
    for path, keyword, reference in _references(schema):
        if not isinstance(reference, str) or not reference.startswith("#"):
            # A plan must be self-contained: checking a call never fetches anything.
            raise PlanError(
                f"{where}{path}: {keyword} {reference!r} is not in the plan; only '#...' is"
            )
    schema = dict(schema)
    validator_class = jsonschema.validators.validator_for(
        schema, default=jsonschema.Draft7Validator
    )
    try:
        validator_class.check_schema(schema)
    except jsonschema.SchemaError as error:
        inside = ".".join(str(part) for part in error.absolute_path)
        raise PlanError(f"{where}{'.' + inside if inside else ''}: {error.message}") from None
    regexes = Regexes()
    for path, pattern in _patterns(schema):
        try:
            regexes.check(pattern)
        except UnsafePattern as error:
            raise PlanError(f"{where}{path}: {error}") from None
    if any(True for _ in _patterns(schema)) and _uses(schema, "unevaluatedProperties"):
        raise PlanError(
            f"{where}: unevaluatedProperties with patternProperties is not supported "
            "(its regular expressions could not be bounded)"
        )
    bounded_class = jsonschema.validators.extend(  # type: ignore[no-untyped-call]
        validator_class, _regex_keywords(regexes, validator_class.VALIDATORS)
    )
    return bounded_class(  # type: ignore[no-any-return]
        schema, registry=_no_retrieval(), format_checker=validator_class.FORMAT_CHECKER
    )


def _no_retrieval() -> Any:
    """A ``referencing`` registry that refuses every URI it does not already hold."""
    from referencing import Registry
    from referencing.exceptions import NoSuchResource

    def refuse(uri: str) -> NoReturn:
        raise NoSuchResource(ref=uri)  # type: ignore[call-arg]  # an attrs class

    return Registry(retrieve=refuse)  # type: ignore[call-arg]  # an attrs alias


def _refuse_url(uri: str) -> NoReturn:
    raise ValueError(f"a tracking plan never fetches anything ({uri!r})")


def _regex_keywords(regexes: Regexes, originals: Mapping[str, Any]) -> dict[str, Any]:
    """jsonschema's keywords that match regular expressions, matching through
    ``regexes`` (same errors as jsonschema's own)."""
    from jsonschema import ValidationError

    def pattern(validator: Any, pattern: str, instance: Any, schema: Any) -> Iterator[Any]:
        if not validator.is_type(instance, "string"):
            return
        try:
            if not regexes.search(pattern, instance):
                yield ValidationError(f"{instance!r} does not match {pattern!r}")
        except TooLong as error:
            yield ValidationError(str(error))

    def pattern_properties(
        validator: Any, patterns: Mapping[str, Any], instance: Any, schema: Any
    ) -> Iterator[Any]:
        if not validator.is_type(instance, "object"):
            return
        for pattern, subschema in patterns.items():
            for key, value in instance.items():
                try:
                    matched = regexes.search(pattern, key)
                except TooLong as error:
                    yield ValidationError(str(error), path=[key])
                    continue
                if matched:
                    yield from validator.descend(value, subschema, path=key, schema_path=pattern)

    original_additional = originals["additionalProperties"]

    def additional_properties(
        validator: Any, additional: Any, instance: Any, schema: Any
    ) -> Iterator[Any]:
        patterns = schema.get("patternProperties")
        if not patterns or not validator.is_type(instance, "object"):
            yield from original_additional(validator, additional, instance, schema)
            return
        named = schema.get("properties", {})
        extras = []
        for key in instance:
            if key in named:
                continue
            try:
                if any(regexes.search(each, key) for each in patterns):
                    continue
            except TooLong as error:
                yield ValidationError(str(error), path=[key])
                continue
            extras.append(key)
        if validator.is_type(additional, "object"):
            for extra in extras:
                yield from validator.descend(instance[extra], additional, path=extra)
        elif not additional and extras:
            joined = ", ".join(repr(each) for each in sorted(extras))
            verb = "does" if len(extras) == 1 else "do"
            regexes_text = ", ".join(repr(each) for each in sorted(patterns))
            yield ValidationError(f"{joined} {verb} not match any of the regexes: {regexes_text}")

    return {
        "pattern": pattern,
        "patternProperties": pattern_properties,
        "additionalProperties": additional_properties,
    }


def quick_check(schema: Mapping[str, Any], validator: Validator) -> Callable[[Any], bool]:
    """A fast "is it valid?" for ``schema``: compiled code when fastjsonschema can take
    the schema, else the (slower) ``validator``. True means valid; False means maybe not."""
    draft = str(schema.get("$schema", "")).rstrip("#")
    if draft not in _FAST_DRAFTS or any(True for _ in _patterns(schema)):
        # fastjsonschema would match the plan's regular expressions with Python's re,
        # unbounded: jsonschema, through ``Regexes``, judges those schemas.
        return validator.is_valid
    try:
        import fastjsonschema
    except ImportError:
        return validator.is_valid
    try:
        compiled = fastjsonschema.compile(
            dict(schema),
            handlers=dict.fromkeys(_URL_SCHEMES, _refuse_url),
            use_default=False,
            detailed_exceptions=False,
        )
    except Exception:  # a schema it cannot compile: jsonschema already accepted it
        return validator.is_valid

    def is_valid(instance: Any) -> bool:
        try:
            compiled(instance)
        except Exception:  # invalid, or a value it cannot judge: jsonschema decides
            return False
        return True

    return is_valid


def _walk(node: object, path: str = "") -> Iterator[tuple[str, str, object]]:
    """Every (path, keyword, value) of a schema, data keywords' values left out."""
    if isinstance(node, Mapping):
        for key, value in node.items():
            yield path, str(key), value
            if key in _NAMED_SCHEMAS and isinstance(value, Mapping):
                # names, not keywords: a property called "default" is still a schema
                for name, schema in value.items():
                    yield from _walk(schema, f"{path}.{key}.{name}")
            elif key not in _DATA_KEYWORDS:
                yield from _walk(value, f"{path}.{key}")
    elif isinstance(node, list):
        for index, item in enumerate(node):
            yield from _walk(item, f"{path}[{index}]")


def _references(schema: Mapping[str, Any]) -> Iterator[tuple[str, str, object]]:
    return ((p, k, v) for p, k, v in _walk(schema) if k in REFERENCE_KEYWORDS)


def _patterns(schema: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    """Every regular expression of a schema, with where it is."""
    for path, keyword, value in _walk(schema):
        if keyword == "pattern" and isinstance(value, str):
            yield f"{path}.pattern", value
        elif keyword == "patternProperties" and isinstance(value, Mapping):
            yield from ((f"{path}.patternProperties", str(key)) for key in value)


def _uses(schema: Mapping[str, Any], keyword: str) -> bool:
    return any(key == keyword for _, key, _ in _walk(schema))


def violations_of(
    validator: Validator, instance: Any, event: str, prefix: str = ""
) -> list[Violation]:
    """Every rule of ``validator`` that ``instance`` breaks, with dotted paths."""
    found = []
    for error in validator.iter_errors(instance):
        parts = [str(part) for part in error.absolute_path]
        if error.validator == "required":
            # jsonschema reports a missing property at its parent; the path names it.
            parts.extend(_missing(error.validator_value, error.instance, error.message))
        path = ".".join(([prefix] if prefix else []) + parts) or "message"
        found.append(Violation(event, path, _shorten(error.message)))
    return found


def _missing(required: Any, instance: Any, message: str) -> list[str]:
    if not isinstance(required, list) or not isinstance(instance, Mapping):
        return []
    for name in required:
        if name not in instance and repr(name) in message:
            return [str(name)]
    return []


def _shorten(text: str) -> str:
    return text if len(text) <= MAX_RULE_TEXT else text[: MAX_RULE_TEXT - 3] + "..."
