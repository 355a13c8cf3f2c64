"""The six Segment calls, shared by the client and the per-request handle."""

from __future__ import annotations

import datetime as dt
from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypedDict

from segment_web.core.message import MessageType
from segment_web.delivery.entry import Callback

if TYPE_CHECKING:
    from typing_extensions import Unpack


class CommonFields(TypedDict, total=False):
    user_id: str | int | None
    anonymous_id: str | int | None
    timestamp: dt.datetime | None
    context: Mapping[str, Any] | None
    integrations: Mapping[str, Any] | None
    message_id: str | None


class IdentifyFields(CommonFields, total=False):
    traits: Mapping[str, Any] | None


class TrackFields(CommonFields, total=False):
    event: str | None
    properties: Mapping[str, Any] | None


class PageFields(CommonFields, total=False):
    category: str | None
    name: str | None
    properties: Mapping[str, Any] | None


class GroupFields(CommonFields, total=False):
    group_id: str | int | None
    traits: Mapping[str, Any] | None


class AliasFields(CommonFields, total=False):
    previous_id: str | int | None


class MessageCalls(ABC):
    """identify/track/page/screen/group/alias.

    Each takes snake_case keyword arguments, or one mapping with the spec's camelCase
    names (``{"userId": ..., "event": ...}``), plus ``callback(error, batch)``.
    Each returns the message's ``messageId`` at once; delivery happens in the background.
    """

    @abstractmethod
    def _send(
        self,
        kind: MessageType,
        message: Mapping[str, Any] | None,
        fields: Mapping[str, Any],
        callback: Callback | None,
    ) -> str: ...

    def identify(
        self,
        message: Mapping[str, Any] | None = None,
        /,
        *,
        callback: Callback | None = None,
        **fields: Unpack[IdentifyFields],
    ) -> str:
        """Tie a user to their traits."""
        return self._send("identify", message, fields, callback)

    def track(
        self,
        message: Mapping[str, Any] | None = None,
        /,
        *,
        callback: Callback | None = None,
        **fields: Unpack[TrackFields],
    ) -> str:
        """Record an action the user performed (``event``) with its ``properties``."""
        return self._send("track", message, fields, callback)

    def page(
        self,
        message: Mapping[str, Any] | None = None,
        /,
        *,
        callback: Callback | None = None,
        **fields: Unpack[PageFields],
    ) -> str:
        """Record a page view (``category``, ``name``, ``properties``)."""
        return self._send("page", message, fields, callback)

    def screen(
        self,
        message: Mapping[str, Any] | None = None,
        /,
        *,
        callback: Callback | None = None,
        **fields: Unpack[PageFields],
    ) -> str:
        """Record a mobile screen view (``category``, ``name``, ``properties``)."""
        return self._send("screen", message, fields, callback)

    def group(
        self,
        message: Mapping[str, Any] | None = None,
        /,
        *,
        callback: Callback | None = None,
        **fields: Unpack[GroupFields],
    ) -> str:
        """Associate the user with a group (``group_id``) and its ``traits``."""
        return self._send("group", message, fields, callback)

    def alias(
        self,
        message: Mapping[str, Any] | None = None,
        /,
        *,
        callback: Callback | None = None,
        **fields: Unpack[AliasFields],
    ) -> str:
        """Merge the identity ``previous_id`` into ``user_id``."""
        return self._send("alias", message, fields, callback)
