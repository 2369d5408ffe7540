"""How pages and messages say counts and times, in one place.

- Counts: ``ngettext`` picks "1 line" or "2 lines" (never "1 lines"); each message
  states both forms where it is written, so the phrase stays readable there.
- Times: one local format everywhere staff read one, the locale's (en-gb:
  "7 Dec 2026, 8:23 p.m."), in the site's time zone; the admin's own fields use it too.
  Machine-readable output (CSV, JSON, command ``--json``) keeps ISO 8601.
"""

from __future__ import annotations

from datetime import date, datetime

from django.utils import formats, timezone


def local_datetime(value: datetime | None) -> str:
    """``value`` as staff read times on every page ("" for none)."""
    if value is None:
        return ""
    if timezone.is_aware(value):
        value = timezone.localtime(value)
    return formats.date_format(value, "DATETIME_FORMAT")


def local_date(value: date | None) -> str:
    """``value`` as staff read dates on every page ("" for none)."""
    if value is None:
        return ""
    if isinstance(value, datetime) and timezone.is_aware(value):
        value = timezone.localtime(value)
    return formats.date_format(value, "DATE_FORMAT")
