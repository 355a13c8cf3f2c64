"""``campaign_from_query`` reads a query string exactly as ``urllib.parse.parse_qsl``
would, without paying for parse_qsl on every request."""

from __future__ import annotations

from urllib.parse import parse_qsl

from hypothesis import given, settings
from hypothesis import strategies as st

from segment_web.web import limits
from segment_web.web.context import campaign_from_query

_KEYS = {
    "utm_source": "source",
    "utm_medium": "medium",
    "utm_campaign": "name",
    "utm_term": "term",
    "utm_content": "content",
}


def read_with_parse_qsl(query_string: str) -> dict[str, str]:
    """The reference: the standard library's reading of the query string."""
    if "utm_" not in query_string:
        return {}
    campaign = {}
    for key, value in parse_qsl(query_string):
        name = _KEYS.get(key.lower())
        if name and value:
            campaign[name] = limits.bounded(value, limits.CAMPAIGN_VALUE)
    return campaign


HOSTILE = [
    "",
    "utm_",
    "utm_source",
    "utm_source=",
    "utm_source=&utm_medium=email",
    "utm_source==x",
    "utm_source=a=b",
    "=utm_source",
    "&&utm_source=a&&",
    "utm_source=a&utm_source=b",
    "UTM_SOURCE=upper&utm_x=1",
    "utm_Source=mixed&utm_=x",
    "utm%5Fsource=encoded+key&utm_medium=x",
    "utm_source+=space&utm_medium=+",
    "utm_source=%2B&utm_medium=a+b%20c",
    "utm_source=%&utm_medium=%zz&utm_term=%e2%82",
    "utm_source=%E2%82%AC&utm_content=%ff%fe",
    "utm_source=%ed%a0%80&utm_term=\ud800",
    "utm_source=caf\u00e9&utm_term=\u0001\u0002",
    "utm_source=a;utm_medium=b",
    "utm_source=" + "x" * 300,
    "utm_source=" + "%01" * 100,
    "utm_source=" + "\u20ac" * 100,
    "utm_campaign=spring%20sale&utm_term=shoes&x=1#frag",
    "xutm_source=a&utm_medium=b",
    "utm_sources=a&utm_medium=b&utm_term",
    "utm_source=a=b&UTM_MEDIUM=c&Utm_Term=d&utm_source=",
    "utm_\u017fource=long-s&utm_medium=x",  # the long s lower-cases to itself, not "s"
]


def test_hostile_query_strings_read_as_parse_qsl_reads_them() -> None:
    for query in HOSTILE:
        assert campaign_from_query(query) == read_with_parse_qsl(query), query


def test_a_benchmark_like_query_string() -> None:
    query = "utm_source=newsletter&utm_medium=email&utm_campaign=spring_sale&page=2"
    assert campaign_from_query(query) == {
        "source": "newsletter",
        "medium": "email",
        "name": "spring_sale",
    }


_PIECES = st.sampled_from(
    [
        *_KEYS,
        "UTM_TERM",
        "utm%5Fsource",
        "utm_source+",
        "x",
        "=",
        "&",
        "+",
        "%",
        "%2",
        "%20",
        "%2B",
        "%26",
        "%3D",
        "%C3%A9",
        "%ff",
        "%ED%A0%80",
        ";",
        "#",
        "\u00e9",
        "\ud800",
        "\x00",
    ]
)


@settings(max_examples=2000, deadline=None)
@given(st.lists(st.one_of(_PIECES, st.text(max_size=4)), max_size=16).map("".join))
def test_any_query_string_reads_as_parse_qsl_reads_it(query: str) -> None:
    assert campaign_from_query(query) == read_with_parse_qsl(query)
