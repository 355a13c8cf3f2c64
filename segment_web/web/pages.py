"""The page a request is for: ``context.page``, and when a response earns a ``page`` call."""

from __future__ import annotations

import re

from segment_web.web import limits
from segment_web.web.facts import RequestFacts


class PageRules:
    """When a response earns an automatic ``page`` call."""

    def __init__(self, enabled: bool, exclude: tuple[str, ...]) -> None:
        self.enabled = enabled
        anchored = [p if p.startswith(("/", ".*", "^")) else "/" + p for p in exclude]
        # Whole-path match, trailing slash optional: "health" excludes /health and
        # /health/ but not /healthy-food.
        joined = "|".join(f"(?:{p.removeprefix('^').removesuffix('$')})" for p in anchored)
        self._exclude = re.compile(f"(?:{joined})/?") if anchored else None

    def excluded(self, path: str) -> bool:
        return self._exclude is not None and self._exclude.fullmatch(path) is not None

    def wants_page(self, method: str, status: int, content_type: str | None, path: str) -> bool:
        return (
            self.enabled
            and method == "GET"
            and 200 <= status < 300
            and content_type is not None
            and content_type.split(";", 1)[0].strip().lower() == "text/html"
            and not self.excluded(path)
        )


# ASCII text this short is within the smallest of the three limits even if every
# character were escaped (``limits.bounded``'s own short case).
_SHORT = min(limits.PATH, limits.URL, limits.SEARCH) // limits.WORST_BYTES_PER_CHAR


def page_facts(facts: RequestFacts) -> dict[str, str]:
    """``context.page`` (and the auto page's properties): url, path, search, referrer,
    each bounded (see ``limits``)."""
    path = facts.path
    search = f"?{facts.query_string}" if facts.query_string else ""
    url = f"{facts.scheme}://{facts.host}{path}{search}"
    if len(url) <= _SHORT and url.isascii():
        # The path and the search are parts of the URL: all three within every limit.
        page = {"path": path, "url": url}
        if search:
            page["search"] = search
    else:
        page = {"path": limits.bounded(path, limits.PATH), "url": limits.bounded(url, limits.URL)}
        if search:
            page["search"] = limits.bounded(search, limits.SEARCH)
    referrer = facts.header("referer")
    if referrer:
        page["referrer"] = limits.bounded(referrer, limits.REFERRER)
    return page
