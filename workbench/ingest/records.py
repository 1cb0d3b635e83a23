"""Articles and rejects, the one record type every loader yields, and how one is made.

Below ``load`` (the generic formats) and ``load_web`` (HTML, WARC), which both build records
with :func:`make_article`: text normalised, dates parsed and checked against ``Limits``,
ids from the text hash.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import email.utils
import hashlib
import os
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ..base import config

_WS = re.compile(r"\s+")
CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
#: Lone UTF-16 surrogates (from JSON ``\\ud800`` escapes) cannot be stored as UTF-8.
_SURROGATE = re.compile(r"[\ud800-\udfff]")


@dataclass(frozen=True)
class Article:
    """One stored news article; ``article_id`` is stable across runs and machines."""

    article_id: str
    date: dt.date | None
    text: str
    origin: str
    format: str
    title: str | None = None
    source: str | None = None
    url: str | None = None
    published: dt.datetime | None = None
    encoding: str | None = None
    decode_note: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    #: set by make_article, which normalises the text once for both the id and this hash
    known_text_hash: str | None = field(default=None, repr=False, compare=False)

    @property
    def text_hash(self) -> str:
        return self.known_text_hash or hash_text(normalise_text(self.text))


@dataclass(frozen=True)
class Reject:
    """An input that could not become an article, with the reason and where it was."""

    origin: str
    reason: str
    detail: str
    first_bytes: str = ""
    format: str = ""


Item = Article | Reject


@dataclass
class Limits:
    max_file_bytes: int = config.MAX_FILE_BYTES
    max_article_chars: int = config.MAX_ARTICLE_CHARS
    future_days: int = config.FUTURE_DATE_HORIZON_DAYS
    allow_undated: bool = False
    #: strptime patterns tried first, in order (``--date-format``)
    date_formats: tuple[str, ...] = ()
    #: order of numeric dates such as ``9/6/17``: True day first, False month first, None
    #: unknown (such dates are then rejected with a hint, never guessed)
    dayfirst: bool | None = None


# --------------------------------------------------------------------------- helpers


def normalise_text(text: str) -> str:
    """NFC, collapsed whitespace, stripped: the form ids and duplicates are computed on."""
    return _WS.sub(" ", unicodedata.normalize("NFC", text)).strip()


def article_id(
    text: str, date: dt.date | None, source: str | None, *, normalised: bool = False
) -> str:
    norm = text if normalised else normalise_text(text)
    key = "\x1f".join([norm, date.isoformat() if date else "", source or ""])
    return hashlib.sha1(key.encode("utf-8", "surrogatepass")).hexdigest()[:16]


def hash_text(normalised: str) -> str:
    """Hash of the case-folded normalised text: equal for syndicated copies across outlets."""
    return hashlib.sha1(normalised.lower().encode("utf-8", "surrogatepass")).hexdigest()[:16]


def clean_str(value: str) -> str:
    """Drop control characters and replace lone surrogates, so any string can be stored."""
    return _SURROGATE.sub("\ufffd", CONTROL_CHARS.sub("", value))


def _clean_meta(value: Any) -> Any:
    if isinstance(value, str):
        return _SURROGATE.sub("\ufffd", value)
    if isinstance(value, dict):
        return {_clean_meta(str(k)): _clean_meta(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean_meta(v) for v in value]
    return value


def preview(data: bytes | str, n: int = 80) -> str:
    """The first bytes of a bad input, printable, for the rejects table."""
    if isinstance(data, bytes):
        data = data[:n].decode("latin-1")
    return _SURROGATE.sub("\ufffd", CONTROL_CHARS.sub("\ufffd", data[:n]))


def origin_text(value: str | os.PathLike[str]) -> str:
    """An origin (a path, maybe with ``#row=N``) as text that can be stored and printed.

    File names are bytes on POSIX; one that is not valid UTF-8 reaches Python with lone
    surrogates (``surrogateescape``), which no UTF-8 store accepts. Its undecodable bytes are
    written ``\\xNN`` and a literal backslash ``\\\\``, so the text is readable and
    ``origin_bytes`` gives back the exact name. Valid names without a backslash are unchanged.
    """
    s = os.fspath(value)
    if "\\" not in s and not _SURROGATE.search(s):
        return s
    raw = os.fsencode(s).replace(b"\\", b"\\\\")
    return raw.decode("utf-8", "backslashreplace")


_BYTE_ESCAPE = re.compile(rb"\\\\|\\x([0-9a-f]{2})")


def origin_bytes(origin: str) -> bytes:
    """The exact bytes of the name an ``origin_text`` stands for (its inverse)."""
    raw = origin.encode("utf-8")
    return _BYTE_ESCAPE.sub(lambda m: bytes([int(m.group(1), 16)]) if m.group(1) else b"\\", raw)


def storable(item: Item) -> Item:
    safe = origin_text(item.origin)
    return item if safe is item.origin else dataclasses.replace(item, origin=safe)


def decode_bytes(data: bytes) -> tuple[str | None, str, str | None]:
    """Decode news text: BOMs, then UTF-8, then cp1252/latin-1 (flagged).

    Returns ``(text, encoding, note)``; text is None for binary data.
    """
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", "replace"), "utf-8-sig", None
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16", "replace"), "utf-16", None
    sample = data[:8192]
    if b"\x00" in sample:
        # UTF-16 without a BOM: every other byte NUL and the text readable.
        for enc, zeros in (("utf-16-le", sample[1::2]), ("utf-16-be", sample[0::2])):
            if zeros and zeros.count(0) / len(zeros) > 0.9:
                text = data.decode(enc, "replace")
                if _printable_ratio(text[:4000]) > 0.95:
                    return text, enc, "no BOM; detected as " + enc
        return None, "binary", "NUL bytes"
    try:
        text = data.decode("utf-8")
        enc, note = "utf-8", None
    except UnicodeDecodeError as exc:
        try:
            text = data.decode("cp1252")
            enc = "cp1252"
        except UnicodeDecodeError:
            text = data.decode("latin-1")
            enc = "latin-1"
        note = f"not valid UTF-8 (byte {exc.start}); decoded as {enc}"
    if _printable_ratio(text[:4000]) < 0.85:
        return None, "binary", "mostly control characters"
    return text, enc, note


def _printable_ratio(text: str) -> float:
    if not text:
        return 1.0
    bad = sum(1 for ch in text if (ch < " " and ch not in "\n\r\t") or ch == "\ufffd")
    return 1 - bad / len(text)


_REUTERS_DATE = re.compile(r"^\s*(\d{1,2})-([A-Za-z]{3})-(\d{4})(?:\s+(\d{1,2}):(\d{2}):(\d{2}))?")
_MONTHS = {
    m: i
    for i, m in enumerate(
        ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"], 1
    )
}


_NUMERIC_DMY = re.compile(
    r"(\d{1,2})([/.-])(\d{1,2})\2(\d{4}|\d{2})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?"
)
#: Spelled-out months, unambiguous everywhere ("March 9, 2020", "9 March 2020").
_TEXT_FORMATS = ("%B %d, %Y", "%b %d, %Y", "%d %B %Y", "%d %b %Y", "%b. %d, %Y")


def parse_date(
    value: Any, *, formats: Sequence[str] = (), dayfirst: bool | None = None
) -> tuple[dt.date, dt.datetime | None]:
    """Parse ISO dates/timestamps, ``YYYY/MM/DD``, Reuters ``26-FEB-1987 15:01:01.79``,
    RFC 2822 (``Mon, 09 Mar 2020 10:00:00 GMT``) and spelled-out months.

    ``formats`` (strptime patterns) are tried first. Numeric day/month dates (``9/6/17``)
    need ``dayfirst`` (True: 9 June, False: 6 September): their order differs by country,
    so without it they are refused rather than guessed. Raises ValueError with a readable
    message.

    Every timestamp is normalised the same way: one with a time zone (an ISO string with
    an offset or ``Z``, a time-zone-aware Parquet/Arrow timestamp) is converted to UTC, and
    its date is the UTC date; one without a zone is kept as written.
    """
    if isinstance(value, dt.datetime):
        return _from_datetime(value)
    if isinstance(value, dt.date):
        return value, None
    s = str(value).strip()
    if not s:
        raise ValueError("empty date")
    for pattern in formats:
        try:
            ts = dt.datetime.strptime(s, pattern)
        except ValueError:
            continue
        return _from_timestamp(ts, s, timed=_has_time(pattern))
    m = _NUMERIC_DMY.fullmatch(s)
    if m:
        return _numeric_date(m, s, dayfirst)
    m = _REUTERS_DATE.match(s)
    if m:
        return _reuters_date(m, s)
    if re.fullmatch(r"\d{4}/\d{1,2}/\d{1,2}", s):
        y, mo, d = (int(x) for x in s.split("/"))
        return dt.date(y, mo, d), None
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", s):
        return dt.date.fromisoformat(s), None
    return _iso_or_other(s)


def _from_datetime(value: dt.datetime) -> tuple[dt.date, dt.datetime | None]:
    """A datetime value (Parquet/Arrow, pandas): a zoned one in UTC, a naive one as is."""
    if value.tzinfo is not None and value.utcoffset() is not None:
        try:
            value = value.astimezone(dt.UTC)
        except OverflowError:
            raise ValueError(f"timestamp {value!s:.40} is out of range in UTC") from None
    return value.date(), value.replace(tzinfo=None)


def _reuters_date(m: re.Match[str], s: str) -> tuple[dt.date, dt.datetime | None]:
    """Reuters ``26-FEB-1987 15:01:01.79`` (fractions of a second dropped)."""
    mon = _MONTHS.get(m.group(2).lower())
    if mon is None:
        raise ValueError(f"unknown month in {s!r}")
    d = dt.date(int(m.group(3)), mon, int(m.group(1)))
    if m.group(4):
        return d, dt.datetime(
            d.year, d.month, d.day, int(m.group(4)), int(m.group(5)), int(m.group(6))
        )
    return d, None


def _iso_or_other(s: str) -> tuple[dt.date, dt.datetime | None]:
    """An ISO timestamp (`` UTC`` read as +00:00), else RFC 2822 or a spelled-out month;
    the last resort of :func:`parse_date`, so its error lists what is accepted."""
    try:
        ts = dt.datetime.fromisoformat(s.replace(" UTC", "+00:00"))
    except ValueError:
        ts = _other_formats(s)
        if ts is None:
            raise ValueError(
                f"unrecognised date {s[:40]!r} (expected YYYY-MM-DD, an ISO timestamp or "
                "YYYY/MM/DD; pass --date-format PATTERN, e.g. '%d.%m.%Y', for other forms)"
            ) from None
    return _from_timestamp(ts, s, timed=True)


def _has_time(pattern: str) -> bool:
    return any(d in pattern for d in ("%H", "%I", "%M", "%S", "%f", "%z", "%X", "%c"))


def _from_timestamp(ts: dt.datetime, s: str, *, timed: bool) -> tuple[dt.date, dt.datetime | None]:
    if ts.tzinfo is not None:
        try:
            ts = ts.astimezone(dt.UTC).replace(tzinfo=None)
        except OverflowError:
            raise ValueError(f"date {s[:40]!r} is out of range in UTC") from None
    return ts.date(), (ts if timed else None)


def _other_formats(s: str) -> dt.datetime | None:
    """RFC 2822 (feeds, e-mail) and spelled-out months; None when none fits."""
    if "," in s or s[:3].isalpha():
        try:
            return email.utils.parsedate_to_datetime(s)
        except (TypeError, ValueError, IndexError):
            pass
    for pattern in _TEXT_FORMATS:
        try:
            return dt.datetime.strptime(s, pattern)
        except ValueError:
            continue
    return None


def _numeric_date(
    m: re.Match[str], s: str, dayfirst: bool | None
) -> tuple[dt.date, dt.datetime | None]:
    a, b, year = int(m.group(1)), int(m.group(3)), m.group(4)
    y = int(year)
    if len(year) == 2:  # the strptime %y rule: 69-99 -> 1900s, 00-68 -> 2000s
        y += 1900 if y >= 69 else 2000
    if dayfirst is None:
        raise ValueError(
            f"ambiguous date {s[:40]!r}: day/month order unknown; pass --monthfirst "
            f"(US: month {a}, day {b}), --dayfirst (day {a}, month {b}) or --date-format"
        )
    day, month = (a, b) if dayfirst else (b, a)
    try:
        d = dt.date(y, month, day)
    except ValueError:
        order = "day first" if dayfirst else "month first"
        raise ValueError(f"date {s[:40]!r} is not a valid date read {order}") from None
    if m.group(5) is None:
        return d, None
    t = dt.time(int(m.group(5)), int(m.group(6)), int(m.group(7) or 0))
    return d, dt.datetime.combine(d, t)


def check_date(d: dt.date, limits: Limits) -> str | None:
    """A reason to reject a parsed date, or None."""
    horizon = dt.date.today() + dt.timedelta(days=limits.future_days)
    if d > horizon:
        return f"future_date: {d.isoformat()} is after {horizon.isoformat()}"
    if d.year < config.MIN_YEAR:
        return f"bad_date: {d.isoformat()} is before {config.MIN_YEAR}"
    return None


def make_article(
    *,
    text: str,
    date_value: Any,
    origin: str,
    fmt: str,
    limits: Limits,
    head: str = "",
    title: str | None = None,
    source: str | None = None,
    url: str | None = None,
    encoding: str | None = None,
    decode_note: str | None = None,
    meta: dict[str, Any] | None = None,
) -> Item:
    """Validate one record and build the Article, or say why not."""
    text = clean_str(text or "").strip()
    if not text:
        return Reject(origin, "empty", "no article text", preview(head), fmt)
    if len(text) > limits.max_article_chars:
        return Reject(
            origin,
            "too_long",
            f"{len(text):,} characters > limit {limits.max_article_chars:,} (max_article_chars)",
            preview(text),
            fmt,
        )
    dated = _article_date(date_value, limits, origin=origin, fmt=fmt, shown=head or text)
    if isinstance(dated, Reject):
        return dated
    date, published = dated
    title = _clean_opt(title)
    source = _clean_opt(source)
    norm = normalise_text(text)
    return Article(
        article_id=article_id(norm, date, source, normalised=True),
        known_text_hash=hash_text(norm),
        date=date,
        text=text,
        origin=origin,
        format=fmt,
        title=title,
        source=source,
        url=_clean_opt(url),
        published=published,
        encoding=encoding,
        decode_note=decode_note,
        meta=_clean_meta(meta or {}),
    )


def _article_date(
    date_value: Any, limits: Limits, *, origin: str, fmt: str, shown: str
) -> tuple[dt.date | None, dt.datetime | None] | Reject:
    """(date, published) of a record, (None, None) when undated is allowed, or the Reject
    (no_date, bad_date, future_date) showing ``shown``."""
    if date_value is None or (isinstance(date_value, str) and not date_value.strip()):
        if not limits.allow_undated:
            return Reject(
                origin,
                "no_date",
                "no date given (pass allow_undated=True to keep undated articles)",
                preview(shown),
                fmt,
            )
        return None, None
    try:
        date, published = parse_date(
            date_value, formats=limits.date_formats, dayfirst=limits.dayfirst
        )
    except ValueError as exc:
        return Reject(origin, "bad_date", str(exc), preview(shown), fmt)
    problem = check_date(date, limits)
    if problem:
        reason, detail = problem.split(": ", 1)
        return Reject(origin, reason, detail, preview(shown), fmt)
    return date, published


def _clean_opt(value: Any) -> str | None:
    if value is None:
        return None
    s = clean_str(str(value)).strip()
    return s or None
