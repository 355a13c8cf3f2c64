"""``before_send`` hooks for the privacy tests (importable by dotted path)."""

from __future__ import annotations

from typing import Any

APP = {"name": "shop", "version": "1.2.0"}


def without_email(message: dict[str, Any]) -> dict[str, Any]:
    """The docs' scrubbing recipe (docs/privacy.md), reduced to one field."""
    traits = message.get("traits")
    if isinstance(traits, dict):
        traits.pop("email", None)
    return message


def with_app(message: dict[str, Any]) -> dict[str, Any]:
    message.setdefault("context", {})["app"] = APP
    return message


def broken(message: dict[str, Any]) -> dict[str, Any]:
    raise RuntimeError("scrubber broke")


def nothing_without_consent(message: dict[str, Any]) -> dict[str, Any] | None:
    """Drops every message of a request that refused a category (GPC included)."""
    preferences = message["context"].get("consent", {}).get("categoryPreferences", {})
    return None if False in preferences.values() else message
