"""Plotly figure of params and MACs against depth across the compared nets."""

from __future__ import annotations

from collections.abc import Sequence

import plotly.graph_objects as go

from ..i18n import DEFAULT_LANG, Lang, t
from ..nets.compare import NetPoint

__all__ = ["params_macs_figure"]


def params_macs_figure(points: Sequence[NetPoint], *, lang: Lang = DEFAULT_LANG) -> go.Figure:
    """Params (millions, left axis) and MACs (billions, right axis) against depth, one marker per net."""
    pts = sorted(points, key=lambda p: p.depth)
    depth = [p.depth for p in pts]
    names = [p.label for p in pts]
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=depth,
            y=[p.params / 1e6 for p in pts],
            name=t("compare.series_params", lang),
            mode="lines+markers+text",
            text=names,
            textposition="top center",
            hovertemplate="%{text}<br>%{x}<br>%{y:.2f} M<extra></extra>",
        )
    )
    fig.add_trace(
        go.Scatter(
            x=depth,
            y=[p.macs / 1e9 for p in pts],
            name=t("compare.series_macs", lang),
            mode="lines+markers",
            text=names,
            yaxis="y2",
            line={"dash": "dash"},
            hovertemplate="%{text}<br>%{x}<br>%{y:.2f} G<extra></extra>",
        )
    )
    fig.update_layout(
        xaxis={"title": {"text": t("compare.axis_depth", lang)}, "range": [0, max(depth, default=1) * 1.1]},
        yaxis={"title": {"text": t("compare.axis_params", lang)}, "rangemode": "tozero"},
        yaxis2={
            "title": {"text": t("compare.axis_macs", lang)},
            "overlaying": "y",
            "side": "right",
            "rangemode": "tozero",
            "showgrid": False,
            "tickformat": ".1f",
        },
        legend={"orientation": "h", "y": 1.12},
        margin={"l": 60, "r": 60, "t": 40, "b": 50},
        height=420,
    )
    return fig
