"""Every fast path of the request layer gives what the obvious implementation gives, over
generated input (the obvious one is written out here, from the documented rules)."""

from __future__ import annotations

import json
import re
from urllib.parse import quote, unquote

from hypothesis import example, given, settings
from hypothesis import strategies as st

from segment_web.web.anonymous_id import MAX_LENGTH, read_anonymous_id

UNUSABLE = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff\ufffd]")


def obvious_anonymous_id(raw: str | None) -> str | None:
    """URL-decode, strip, JSON-unquote a JSON string, then refuse the unusable (a cookie
    that is one URL-quoted quote mark alone, "%22", is an empty classic value)."""
    if not raw or raw == "%22":
        return None
    value = unquote(raw).strip()
    if value.startswith('"'):
        try:
            decoded = json.loads(value)
        except ValueError:
            decoded = None
        if isinstance(decoded, str):
            value = decoded.strip()
    if not value or len(value) > MAX_LENGTH or UNUSABLE.search(value):
        return None
    return value


ids = st.text(max_size=MAX_LENGTH + 5) | st.uuids().map(str) | st.from_regex(r"[ -~]{0,40}")
cookies = (
    ids
    | ids.map(lambda text: f"%22{text}%22")  # analytics.js classic: JSON string, URL-quoted
    | ids.map(lambda text: quote(json.dumps(text)))
    | ids.map(lambda text: "%22" + quote(text) + "%22")
)


@given(cookies)
@settings(max_examples=1500, deadline=None)
@example("%22%22")
@example("%22")
@example("%22a b%22")
@example('%22a"b%22')
@example("%22a%5Cb%22")
@example("%22" + "x" * MAX_LENGTH + "%22")
@example("%22" + "x" * (MAX_LENGTH + 1) + "%22")
@example("%22\x7f%22")
def test_the_anonymous_id_cookie_reads_as_the_obvious_way_reads_it(raw: str) -> None:
    assert read_anonymous_id(raw) == obvious_anonymous_id(raw)
