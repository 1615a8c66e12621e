"""A comparison table as a DataFrame: shared by the comparison page and the tour."""

from __future__ import annotations

import pandas as pd

from ...nets.compare import CompareTable
from ..core.text import tr

__all__ = ["table_frame"]


def table_frame(table: CompareTable, *, only_diff: bool) -> pd.DataFrame:
    """The table as a DataFrame: one row per fact, one column per net."""
    rows = [r for r in table.rows if r.differs or not only_diff]
    frame = pd.DataFrame([r.values for r in rows], columns=list(table.nets), index=[r.label for r in rows])
    frame.index.name = tr("compare.row")
    return frame
