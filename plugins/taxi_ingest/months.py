"""Does a file hold the month it is loaded as? One rule for both pipelines.

A month file may hold a few stray trips (clock errors: 2008 dates in a 2021 file), but most pickups
must fall in the month. A file named for another month, or whose pickups mostly fall in another one,
is the wrong file (a mirror serving the wrong month, a copy saved under the wrong name), and loading
it would silently replace a month with another month's trips.

Each pipeline counts pickups where its rows are: the Postgres load in SQL over the staged rows
(postgres.py), the parquet conversion batch by batch (normalize.py). Both then call
`check_rows_in_month`, so the threshold and the message are the same.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

from taxi_ingest.errors import WrongMonthError
from taxi_ingest.sources import month_in_name, month_str

MIN_IN_MONTH_SHARE = 0.5


def next_month(month: dt.date) -> dt.date:
    return (month.replace(day=1) + dt.timedelta(days=32)).replace(day=1)


def check_name_month(path: str | Path, month: dt.date) -> None:
    """Refuse a file whose TLC-style name (``..._tripdata_2021-02...``) says another month."""
    named = month_in_name(str(path))
    if named is not None and named != month:
        raise WrongMonthError(f"{Path(path).name} is named for {month_str(named)}, not {month_str(month)}")


def check_rows_in_month(name: str, month: dt.date, in_month: int, with_pickup: int,
                        mostly: Callable[[], str]) -> None:
    """Refuse the file unless at least MIN_IN_MONTH_SHARE of its pickups fall in `month`.

    `mostly()` names the month most pickups fall in (YYYY-MM); it is only called to word the error.
    """
    if in_month >= MIN_IN_MONTH_SHARE * with_pickup:
        return
    raise WrongMonthError(
        f"{name}: only {in_month} of {with_pickup} pickups are in {month_str(month)}; "
        f"most are in {mostly()} (is this another month's file?)"
    )
