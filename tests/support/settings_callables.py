"""One callable per callable setting, for tests that give each as a dotted path."""

from __future__ import annotations

from typing import Any

USER = "dotted-user"
CATEGORIES = {"Analytics": True}
HANDLED: list[Exception] = []


def user_id(*request: Any) -> str:
    """Django's fn(request), Flask's fn(), ASGI's fn(scope): the same user."""
    return USER


def consent(request: Any) -> dict[str, bool]:
    return dict(CATEGORIES)


def before_send(message: dict[str, Any]) -> dict[str, Any]:
    message.setdefault("context", {})["hooked"] = True
    return message


def error_handler(error: Exception) -> None:
    HANDLED.append(error)


PATHS = {
    name: f"{__name__}.{name}" for name in ("user_id", "consent", "before_send", "error_handler")
}


def assert_all_applied(messages: list[dict[str, Any]]) -> None:
    """The user, consent and before_send settings all shaped the message of a page view."""
    (page,) = [message for message in messages if message["type"] == "page"]
    assert page["userId"] == USER
    assert page["context"]["consent"]["categoryPreferences"] == CATEGORIES
    assert page["context"]["hooked"] is True
