"""Month arithmetic: the model counts months since year 0, and reports calendar and financial years."""

from __future__ import annotations

from .parameters import month_index


def year_of(m: int) -> int:
    return m // 12


def month_of(m: int) -> int:
    """1..12"""
    return m % 12 + 1


def fy_start(m: int) -> int:
    """Financial year (April-March) containing month index m, by its starting calendar year."""
    return year_of(m) if month_of(m) >= 4 else year_of(m) - 1


def fy_label(start_year: int) -> str:
    return f"{start_year}/{(start_year + 1) % 100:02d}"


def label(m: int) -> str:
    return f"{year_of(m)}-{month_of(m):02d}"


def days_in_month(m: int) -> int:
    y, mo = year_of(m), month_of(m)
    if mo == 2:
        return 29 if (y % 4 == 0 and (y % 100 != 0 or y % 400 == 0)) else 28
    return 30 if mo in (4, 6, 9, 11) else 31


__all__ = ["month_index", "year_of", "month_of", "fy_start", "fy_label", "label", "days_in_month"]
