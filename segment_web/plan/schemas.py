"""JSON Schema work for tracking plans (extra ``[plan]``): checking a rule's schema,
compiling it once, and turning its errors into ``Violation``s.

Two libraries, each for what it does best: ``jsonschema`` checks the plan's schemas and
words every violation; ``fastjsonschema`` compiles each schema to Python code, which
answers "valid?" about ten times faster on the caller's thread. Only a message it
finds invalid (rare) is looked at by ``jsonschema``, whose verdict is final.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

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
    remote = [ref for ref in _refs(schema) if not ref.startswith("#")]
    if remote:
        # A plan must be self-contained: checking a call never fetches anything.
        raise PlanError(f"{where}: $ref {remote[0]!r} is not in the plan; only '#/...' is")
    schema = dict(schema)
    validator_class = jsonschema.validators.validator_for(
        schema, default=jsonschema.Draft7Validator
    )
    try:
        validator_class.check_schema(schema)
    except jsonschema.SchemaError as error:
        inside = ".".join(str(part) for part in error.absolute_path)
        raise PlanError(f"{where}{'.' + inside if inside else ''}: {error.message}") from None
    return validator_class(schema, format_checker=validator_class.FORMAT_CHECKER)


def quick_check(schema: Mapping[str, Any], validator: Validator) -> Callable[[Any], bool]:
    """A fast "is it valid?" for ``schema``: compiled code when fastjsonschema can take
    the schema, else the (slower) ``validator``. True means valid; False means maybe not."""
    draft = str(schema.get("$schema", "")).rstrip("#")
    if draft not in _FAST_DRAFTS:
        return validator.is_valid
    try:
        import fastjsonschema
    except ImportError:
        return validator.is_valid
    try:
        compiled = fastjsonschema.compile(
            dict(schema), use_default=False, detailed_exceptions=False
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


def _refs(node: object) -> Iterator[str]:
    if isinstance(node, Mapping):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _refs(item)


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
