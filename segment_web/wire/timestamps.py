"""Message timestamps: ISO-8601 in UTC with milliseconds, as Segment's API wants them."""

from __future__ import annotations

import datetime as dt
import re
import time

from segment_web.errors import ValidationError

# An ISO-8601 date and time, extended (2024-05-17T09:30) or basic (20240517T0930); a
# date alone is not a point in time.
_ISO_DATE_TIME = re.compile(r"\d{4}(?:-\d\d-\d\d|\d{4})[Tt ]\d\d")


def format_timestamp(value: object) -> str:
    """ISO-8601 in UTC with milliseconds, from a datetime or an ISO-8601 string.

    A naive datetime (or a string without an offset) is taken as UTC.
    """
    if value is None:
        return _now()
    if isinstance(value, str):
        value = _parse_timestamp(value)
    elif not isinstance(value, dt.datetime):
        raise ValidationError(
            "timestamp", f"must be a datetime or an ISO-8601 string, got {type(value).__name__}"
        )
    tzinfo = value.tzinfo
    if tzinfo is not None and tzinfo is not _UTC:
        try:
            if value.utcoffset() is None:  # a time zone that does not know: naive
                value = value.replace(tzinfo=None)
            else:
                value = value.astimezone(_UTC)
        except OverflowError:
            raise ValidationError("timestamp", f"{value} is out of range once in UTC") from None
    # Naive (meaning UTC) or in UTC now. isoformat pads years below 1000 to four digits,
    # as ISO 8601 wants, and cuts microseconds to milliseconds; called on the base class,
    # a subclass's own isoformat (pendulum's, say) cannot change the format.
    text = _isoformat(value, "T", "milliseconds")
    return f"{text[:-6]}Z" if value.tzinfo is not None else f"{text}Z"


# The parts of an ISO-8601 date and time, in its basic (20230506T070809Z) or extended
# (2023-05-06T07:08:09Z) form, rewritten into the one form every supported Python's
# ``fromisoformat`` reads: 3.10 reads neither the basic form, nor "Z", nor an offset
# without a colon, nor fractions of other than 3 or 6 digits.
_ISO_PARTS = re.compile(
    r"(\d{4})-?(\d\d)-?(\d\d)[Tt ](\d\d)(?::?(\d\d)(?::?(\d\d)([.,]\d+)?)?)?"
    r"(?:([Zz])|([+-])(\d\d)(?::?(\d\d))?)?"
)


def _parse_timestamp(text: str) -> dt.datetime:
    parts = _ISO_PARTS.fullmatch(text) if _ISO_DATE_TIME.match(text) else None
    if parts is not None:
        year, month, day, hour, minute, second, fraction, zulu, sign, off_h, off_m = parts.groups()
        micro = (fraction[1:] + "000000")[:6] if fraction else "000000"
        offset = "+00:00" if zulu or not sign else f"{sign}{off_h}:{off_m or '00'}"
        naive = not (zulu or sign)
        iso = f"{year}-{month}-{day}T{hour}:{minute or '00'}:{second or '00'}.{micro}{offset}"
        try:
            parsed = dt.datetime.fromisoformat(iso)
        except ValueError:
            pass
        else:
            return parsed.replace(tzinfo=None) if naive else parsed
    raise ValidationError(
        "timestamp",
        f"must be an ISO-8601 date and time such as 2024-05-17T09:30:12.345Z, got {text!r}",
    )


_UTC = dt.timezone.utc
_isoformat = dt.datetime.isoformat
_second_cache: tuple[int, str] = (-1, "")


def _now() -> str:
    """The current time, formatted; the seconds part is formatted once per second."""
    global _second_cache
    now = time.time()
    second = int(now)
    cached_second, prefix = _second_cache
    if second != cached_second:
        prefix = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
        _second_cache = (second, prefix)
    return f"{prefix}.{int((now - second) * 1000):03d}Z"
