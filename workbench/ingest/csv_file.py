"""CSV/TSV reader: one row at a time, each field bounded."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .reading import _Lines
from .records import Item, Limits, Reject, preview
from .tables import _pick_columns, _row_item


def _load_csv(
    lines: _Lines,
    path: Path,
    columns: dict[str, str | None],
    limits: Limits,
    source_name: str,
    max_field: int,
) -> Iterator[Item]:
    csv.field_size_limit(max_field)
    delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
    reader = csv.reader(_capped_lines(lines, max_field), delimiter=delimiter)
    origin0 = str(path)
    head = _csv_header(reader, lines, origin0, columns)
    if isinstance(head, Reject):
        yield head
        return
    header, cols = head
    row_no = 1
    while True:
        try:
            values = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            lines.take_note()
            row_no += 1
            yield _bad_csv_row(exc, f"{origin0}#row={row_no}", max_field, limits)
            continue
        row_no += 1
        enc, note = lines.take_note()
        origin = f"{origin0}#row={row_no}"
        if not values or (len(values) == 1 and not values[0].strip()):
            continue  # blank line: not a record (a row of empty fields is, and is rejected)
        if len(values) != len(header):
            yield Reject(
                origin,
                "malformed_row",
                f"expected {len(header)} fields, got {len(values)} (line {reader.line_num})",
                preview(",".join(values)),
                "csv",
            )
            continue
        yield _row_item(
            dict(zip(header, values, strict=True)),
            cols,
            origin,
            "csv",
            limits,
            source_name,
            enc,
            note,
            given=columns,
        )


def _csv_header(
    reader: Any, lines: _Lines, origin: str, columns: dict[str, str | None]
) -> tuple[list[str], dict[str, str]] | Reject:
    """The header row and the columns picked from it, or why the file has no records."""
    try:
        header = next(reader)
    except StopIteration:
        return Reject(origin, "empty", "CSV file has no header row", "", "csv")
    except csv.Error as exc:
        return Reject(origin, "malformed_csv", f"header: {exc}", "", "csv")
    lines.take_note()
    cols = _pick_columns(header, columns)
    if "text" not in cols or cols["text"] not in header:
        return Reject(
            origin,
            "no_text_column",
            f"no text column among {header[:12]}; pass --text COLUMN",
            ",".join(header)[:80],
            "csv",
        )
    return header, cols


def _bad_csv_row(exc: csv.Error, origin: str, max_field: int, limits: Limits) -> Reject:
    """The reject of a row the csv module refused (a field over the limit is ``too_long``)."""
    reason, detail = "malformed_row", str(exc)
    if "field limit" in detail:
        reason = "too_long"
        detail = (
            f"a field longer than {max_field:,} characters (max_article_chars "
            f"{limits.max_article_chars:,}); skipped without holding it"
        )
    return Reject(origin, reason, detail, "", "csv")


def _capped_lines(lines: _Lines, max_chars: int) -> Iterator[str]:
    """Lines for the csv reader; an over-long line is cut (the reader then rejects its row
    as over the field limit) so that one huge line is never held in memory."""
    for line in lines:
        yield "\x00" * (max_chars + 1) + "\n" if line is None else line
