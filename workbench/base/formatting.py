"""One naming and formatting layer for every surface: periods, cells of printed tables, and
machine output (CSV/JSON) of the same frames.

People read ``2020-01`` for a month and ``2020-W02`` for an ISO week, ``32,086,380`` for a
sum and an empty cell for a missing value; machines get the values themselves.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from typing import Any

import pandas as pd

#: ``--format`` choices of the printing commands.
OUTPUT_FORMATS = ("table", "csv", "json")


def period_label(value: Any, freq: str) -> str:
    """A period start as a period: ``2020-01-06`` (day), ``2020-W02`` (ISO week),
    ``2020-01`` (month), ``2020-Q1`` (quarter), ``2020`` (year); empty for a missing one."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return ""
    ts = pd.Timestamp(value)
    if freq == "week":
        year, week, _ = ts.isocalendar()
        return f"{year}-W{week:02d}"
    if freq == "month":
        return f"{ts.year}-{ts.month:02d}"
    if freq == "quarter":
        return f"{ts.year}-Q{(ts.month - 1) // 3 + 1}"
    if freq == "year":
        return f"{ts.year}"
    return ts.strftime("%Y-%m-%d")


def cell(value: Any) -> str:
    """One value of a printed table: dates without a midnight time, integers (also integral
    floats such as DuckDB sums) with thousands separators, other floats to 4 significant
    digits, and an empty cell for None/NaN/NaT."""
    if value is None:
        return ""
    if isinstance(value, (list, tuple, dict)):
        return json.dumps(value, default=str, ensure_ascii=False)
    if isinstance(value, bool):
        return str(value).lower()
    try:
        if pd.isna(value):
            return ""
    except (TypeError, ValueError):
        pass
    if isinstance(value, (pd.Timestamp, dt.datetime)):
        ts = pd.Timestamp(value)
        if ts.tzinfo is None and ts == ts.normalize():
            return ts.strftime("%Y-%m-%d")
        return ts.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, int) or (hasattr(value, "dtype") and pd.api.types.is_integer(value)):
        return f"{int(value):,}"
    if isinstance(value, float) or pd.api.types.is_float(value):
        v = float(value)
        if math.isfinite(v) and v.is_integer() and abs(v) < 1e15:
            return f"{int(v):,}"
        return f"{v:,.4g}" if abs(v) >= 1e4 else f"{v:.4g}"
    return str(value)


def machine_frame(df: pd.DataFrame) -> pd.DataFrame:
    """Values as a script wants them: timestamps that are all midnight as ISO dates, other
    timestamps ISO, floats that are all whole numbers (DuckDB sums) as integers."""
    out = df.copy()
    for col in out.columns:
        s = out[col]
        if pd.api.types.is_datetime64_any_dtype(s):
            ok = s.dropna()
            whole = bool(len(ok)) and bool((ok == ok.dt.normalize()).all())
            text = s.dt.strftime("%Y-%m-%d" if whole else "%Y-%m-%dT%H:%M:%S")
            out[col] = text.where(s.notna(), None)
        elif pd.api.types.is_float_dtype(s):
            ok = s.dropna()
            if len(ok) and bool((ok == ok.round()).all()) and bool((ok.abs() < 2**53).all()):
                out[col] = s.astype("Int64")
    return out


def to_csv(df: pd.DataFrame) -> str:
    """The frame as CSV (ISO dates, empty for null), for spreadsheets and scripts."""
    return machine_frame(df).to_csv(index=False)


def to_json(df: pd.DataFrame) -> str:
    """The frame as a JSON array of records (ISO dates, null for missing)."""
    return machine_frame(df).to_json(orient="records", force_ascii=False, indent=1)
