"""``TrackedRequest``: one request's analytics from start to finish — its handle, the
anonymous-id cookie to set on the response, and the automatic page call."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from segment_web.core.handle import RequestAnalytics
from segment_web.core.tracing import server_span, tag_user
from segment_web.web.anonymous_id import AnonymousIdCookie, new_anonymous_id, read_anonymous_id
from segment_web.web.context import RequestRules
from segment_web.web.facts import RequestFacts
from segment_web.web.pages import page_facts

if TYPE_CHECKING:
    from segment_web.core.client import Analytics


class TrackedRequest:
    """One request's analytics: its handle, the cookie to set, and the auto page."""

    __slots__ = ("facts", "handle", "new_anonymous_id", "page", "rules")

    def __init__(
        self,
        rules: RequestRules,
        client: Analytics,
        facts: RequestFacts,
        user_id: Callable[[], Any] | str | int | None = None,
    ) -> None:
        self.rules = rules
        self.facts = facts
        anonymous_id = read_anonymous_id(facts.cookie(rules.settings.anonymous_id_cookie))
        self.new_anonymous_id: str | None = None
        if anonymous_id is None:  # none, or unusable: replaced, with a new cookie
            anonymous_id = self.new_anonymous_id = new_anonymous_id()
        if rules.settings.span_enduser_id:
            user_id = _tagging(server_span(), user_id)
        consent = rules.privacy.consent(facts)
        # context.page and the auto page's properties: the same facts, bounded once.
        self.page = page_facts(facts)
        context = rules.context(facts, consent, self.page)
        integrations: dict[str, Any] = consent.destinations
        if rules.sessions is not None:
            session_id = rules.sessions.read(facts)
            if session_id is not None:
                integrations = rules.sessions.stitch(session_id, context, integrations)
        self.handle = RequestAnalytics(
            client,
            user_id=user_id,
            anonymous_id=anonymous_id,
            context=context,
            integrations=integrations,
        )

    def cookie(self) -> AnonymousIdCookie | None:
        """The anonymous-id cookie to set on the response, when this request made the id."""
        settings = self.rules.settings
        if self.new_anonymous_id is None or not settings.set_anonymous_id_cookie:
            return None
        return AnonymousIdCookie(
            name=settings.anonymous_id_cookie,
            value=self.new_anonymous_id,
            max_age=settings.anonymous_id_cookie_max_age,
            secure=self.facts.scheme == "https",
            domain=settings.anonymous_id_cookie_domain,
        )

    def finish(self, status: int, content_type: str | None, page_name: str | None) -> bool:
        """Send the automatic ``page`` call if the response earns one; True if it did."""
        facts = self.facts
        if not self.rules.pages.wants_page(facts.method, status, content_type, facts.path):
            return False
        self.handle.page(name=page_name or None, properties=dict(self.page))
        return True


def _tagging(
    span: Any, user_id: Callable[[], Any] | str | int | None
) -> Callable[[], Any] | str | int | None:
    """``user_id``, setting ``enduser.id`` on ``span`` once it is known."""
    if span is None:
        return user_id
    if callable(user_id):
        resolve = user_id
        return lambda: tag_user(span, resolve())
    tag_user(span, user_id)
    return user_id
