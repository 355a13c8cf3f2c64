"""Request data an attacker (or a broken client) sends, shared by the adapters' tests."""

from __future__ import annotations

import json
import uuid
from typing import Any

COOKIE = "ajs_anonymous_id"
# A JSON-quoted lone surrogate once URL-decoded: not valid Unicode.
SURROGATE_COOKIE = "%22%5Cud800%22"
# Each character needs escaping in JSON: 8,150 of them take 16 KB once encoded.
LONG_USER_AGENT = '"' * 8150
LONG_REFERRER = "https://example.test/" + "\\" * 8130
LONG_CAMPAIGN_QUERY = f"utm_source={'s' * 9000}&utm_medium={'m' * 3000}"
UNICODE_ID = "ünïcødé"
MAX_MESSAGE_BYTES = 32 * 1024


def as_wsgi(text: str) -> str:
    """``text`` as a WSGI server puts it in the environ: its UTF-8 bytes read as Latin-1."""
    return text.encode("utf-8").decode("latin-1")


def assert_valid_with_a_new_id(message: dict[str, Any]) -> None:
    """A message that arrived intact, small enough, with a freshly made anonymous id."""
    assert len(json.dumps(message, ensure_ascii=False).encode("utf-8")) < MAX_MESSAGE_BYTES
    assert uuid.UUID(message["anonymousId"]).version == 4
