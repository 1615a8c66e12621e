"""Plotly figures of the gradient lab, built from LayerNorm records, run snapshots and sweep curves."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ..gradients import LayerNorm
from ..i18n import Lang, t
from ..runner import NetHistory
from ..sweep import SweepCurve

__all__ = ["COLORS", "curves_figure", "ends_figure", "heatmap_figure", "profile_figure", "records_at", "sweep_figure"]

COLORS: Mapping[str, str] = {"residual": "#1f77b4", "plain": "#d62728"}


def _layout(fig: go.Figure, title: str, height: int = 380) -> go.Figure:
    fig.update_layout(
        title=title, height=height, margin={"l": 60, "r": 20, "t": 50, "b": 50}, legend={"orientation": "h", "y": -0.2}
    )
    return fig


def profile_figure(profiles: Mapping[str, Sequence[LayerNorm]], lang: Lang, *, step: int | None = None) -> go.Figure:
    """Gradient norm of every layer against depth, one line per net, on a log axis.

    ``profiles`` maps a label (a net's title) to its records; ``step`` names the step they come from.
    """
    fig = go.Figure()
    for i, (label, records) in enumerate(profiles.items()):
        net = "plain" if label.startswith("plain") else "residual"
        fig.add_trace(
            go.Scatter(
                x=[r.index for r in records],
                y=[r.norm for r in records],
                mode="lines+markers",
                name=label,
                text=[r.name for r in records],
                hovertemplate="%{text}<br>%{y:.3g}<extra></extra>",
                line={"color": COLORS[net] if len(profiles) <= 2 else None, "dash": "solid" if i % 2 == 0 else "dot"},
            )
        )
    title = t("grad.plot.profile_title", lang) if step is None else t("grad.plot.profile_title_step", lang, step=step)
    fig.update_yaxes(type="log", title=t("grad.plot.grad_norm", lang))
    fig.update_xaxes(title=t("grad.plot.layer_depth", lang))
    return _layout(fig, title)


def records_at(history: NetHistory, step: int = -1) -> list[LayerNorm]:
    """One step of a history as LayerNorm records (the latest by default)."""
    if not history.norms:
        return []
    row = history.norms[step]
    return [LayerNorm(i, n, v) for i, (n, v) in enumerate(zip(history.layer_names, row), start=1)]


def heatmap_figure(history: NetHistory, lang: Lang) -> go.Figure:
    """log10 of the gradient norm, layer (rows, input at the bottom) against step (columns)."""
    z = [[math.log10(v) if v > 0 else None for v in row] for row in history.norms]  # (steps, layers)
    zt = [list(col) for col in zip(*z)] if z else []  # (layers, steps)
    fig = go.Figure(
        go.Heatmap(
            z=zt,
            x=list(range(1, len(z) + 1)),
            y=list(range(1, len(history.layer_names) + 1)),
            colorscale="Viridis",
            colorbar={"title": "log₁₀"},
            hovertemplate=t("grad.plot.heat_hover", lang) + "<extra></extra>",
        )
    )
    fig.update_xaxes(title=t("grad.plot.step", lang))
    fig.update_yaxes(title=t("grad.plot.layer_depth", lang))
    return _layout(fig, t("grad.plot.heat_title", lang, net=history.title), height=340)


def curves_figure(histories: Sequence[NetHistory], lang: Lang) -> go.Figure:
    """Training loss and batch accuracy against step, both nets."""
    fig = make_subplots(rows=1, cols=2, subplot_titles=(t("grad.plot.loss", lang), t("grad.plot.accuracy", lang)))
    for h in histories:
        steps = list(range(1, h.steps + 1))
        color = COLORS[h.net]
        fig.add_trace(go.Scatter(x=steps, y=list(h.loss), name=h.title, line={"color": color}), row=1, col=1)
        fig.add_trace(
            go.Scatter(x=steps, y=list(h.accuracy), name=h.title, line={"color": color}, showlegend=False),
            row=1,
            col=2,
        )
    fig.update_xaxes(title=t("grad.plot.step", lang))
    fig.update_yaxes(range=[0, 1], row=1, col=2)
    return _layout(fig, t("grad.plot.curves_title", lang))


def ends_figure(histories: Sequence[NetHistory], lang: Lang) -> go.Figure:
    """The first and the last layer's gradient norm against step, both nets, on a log axis."""
    fig = go.Figure()
    for h in histories:
        steps = list(range(1, h.steps + 1))
        for which, col, dash in (("first", 0, "solid"), ("last", -1, "dot")):
            fig.add_trace(
                go.Scatter(
                    x=steps,
                    y=[row[col] for row in h.norms],
                    name=t(f"grad.plot.{which}_layer", lang, net=h.title),
                    line={"color": COLORS[h.net], "dash": dash},
                )
            )
    fig.update_yaxes(type="log", title=t("grad.plot.grad_norm", lang))
    fig.update_xaxes(title=t("grad.plot.step", lang))
    return _layout(fig, t("grad.plot.ends_title", lang))


def sweep_figure(curves: Sequence[SweepCurve], lang: Lang) -> go.Figure:
    """He et al. 2015 Fig. 6 in small: training loss of plain (dashed) and residual (solid) nets by depth."""
    fig = go.Figure()
    palette = ("#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#17becf", "#e377c2")
    depths = sorted({c.depth for c in curves})
    for c in curves:
        color = palette[depths.index(c.depth) % len(palette)]
        fig.add_trace(
            go.Scatter(
                x=list(range(1, len(c.loss) + 1)),
                y=list(c.loss),
                name=c.title,
                line={"color": color, "dash": "dash" if c.plain else "solid"},
            )
        )
    fig.update_xaxes(title=t("grad.plot.step", lang))
    fig.update_yaxes(title=t("grad.plot.loss", lang))
    return _layout(fig, t("grad.plot.sweep_title", lang), height=420)
