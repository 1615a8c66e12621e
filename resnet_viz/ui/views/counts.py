"""Tables of counts in the app's human units: the cells read "25.6 M" while the column stays numeric (it sorts as
numbers, and tests and copies read the exact value), and each count column's tooltip gives the exact numbers, or
says that the CSV and JSON exports carry them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Final, Literal

import pandas as pd
import streamlit as st
from pandas.io.formats.style import Styler

from ...units import exact, human
from ..core.text import tr

__all__ = ["MAX_LISTED", "count_help", "count_table", "styled"]

MAX_LISTED: Final = 12  # up to this many rows a tooltip lists every exact value (a bottleneck block has 12 layers)


def styled(frame: pd.DataFrame, counts: Sequence[str]) -> Styler:
    """The frame with its ``counts`` columns shown in human units (the values themselves unchanged)."""
    return frame.style.format(human, subset=list(counts))


def count_help(frame: pd.DataFrame, column: str, *, exports: bool) -> str:
    """A count column's tooltip: what K, M, G mean, then each row's exact value (a short table) or where to find it."""
    label = frame.columns[0]
    if len(frame) <= MAX_LISTED:
        values = "".join(f"  \n{row[label]}: {exact(int(row[column]))}" for _, row in frame.iterrows())
        where = tr("units.exact_list", values=values)
    else:
        where = tr("units.exact_exports" if exports else "units.exact_none")
    return f"{tr('units.legend')}  \n{where}"


def count_table(
    rows: Sequence[Mapping[str, object]] | pd.DataFrame,
    counts: Sequence[str],
    *,
    key: str | None = None,
    exports: bool = False,
    height: int | Literal["auto"] = "auto",
) -> None:
    """``st.dataframe`` of ``rows`` with the ``counts`` columns in human units and the exact numbers in their tooltips.

    ``exports`` says that the page offers the table as CSV and JSON with exact numbers (named in the tooltip when
    the table is too long to list them).
    """
    frame = rows if isinstance(rows, pd.DataFrame) else pd.DataFrame(list(rows))
    counts = [c for c in counts if c in frame.columns]
    config = {c: st.column_config.NumberColumn(c, help=count_help(frame, c, exports=exports)) for c in counts}
    st.dataframe(styled(frame, counts), hide_index=True, width="stretch", height=height, key=key, column_config=config)
