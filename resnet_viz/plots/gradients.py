"""Plotly figures of the gradient lab, built from LayerNorm records, run snapshots and sweep curves."""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import Final

import numpy as np
import plotly.graph_objects as go
from plotly.colors import sample_colorscale

from ..i18n import Lang, t
from ..lab.gradients import LayerNorm
from ..lab.history import NetHistory, SweepCurve
from .smoothing import DEFAULT_SMOOTHING, ema

__all__ = [
    "COLORS",
    "curves_figure",
    "depth_colors",
    "ends_figure",
    "heatmap_figure",
    "profile_figure",
    "records_at",
    "sweep_figure",
]

COLORS: Mapping[str, str] = {"residual": "#1f77b4", "plain": "#d62728"}
MAX_HEAT_STEPS = 400
# Depths on a sequential scale: He et al. 2015 Fig. 6 colours each depth apart; light to dark reads shallow to deep.
DEPTH_SCALE: Final = "Viridis_r"
LIGHTEST: Final = 0.2  # where the scale starts: its very start is a yellow that barely shows on white
# A small light template of our own: the lab draws its live figures without Streamlit's theme (theme=None),
# which cost Chromium ~0.1 of a core more at one refresh every 1.5 s (benchmarks/bench_lab.py), and without
# plotly's default template, whose 6 KB would travel with every refresh.
TEMPLATE: Mapping[str, object] = {
    "layout": {
        "font": {"family": "sans-serif", "size": 13, "color": "#31333f"},
        "plot_bgcolor": "white",
        "paper_bgcolor": "white",
        "xaxis": {"gridcolor": "#e6e9ef", "zeroline": False, "linecolor": "#d5dae5"},
        "yaxis": {"gridcolor": "#e6e9ef", "zeroline": False, "linecolor": "#d5dae5"},
        "hoverlabel": {"font": {"size": 13}},
    }
}


Trace = dict[str, object]


def _figure(traces: list[Trace], title: str, height: int = 380, **layout: object) -> go.Figure:
    """A figure from plain trace dicts, built without plotly's per-property validation.

    The lab redraws five figures every second from the latest snapshot; validating thousands of points
    made that take seconds on a 2-core machine, longer than the polling interval.
    """
    base: dict[str, object] = {
        "title": {"text": title},
        "height": height,
        "margin": {"l": 60, "r": 20, "t": 50, "b": 50},
        "legend": {"orientation": "h", "yanchor": "top", "y": -0.25},
        "template": TEMPLATE,
    }
    return go.Figure(data=traces, layout={**base, **layout}, _validate=False)


def _axis(title: str, **extra: object) -> dict[str, object]:
    return {"title": {"text": title}, **extra}


def profile_figure(
    profiles: Mapping[str, Sequence[LayerNorm]],
    lang: Lang,
    *,
    step: int | None = None,
    plain: Collection[str] = (),
) -> go.Figure:
    """Gradient norm of every layer against depth, one line per net, on a log axis.

    ``profiles`` maps a label (a net's title) to its records; ``step`` names the step they come from;
    ``plain`` names the labels of plain nets (coloured apart in any language).
    """
    traces: list[Trace] = []
    for i, (label, records) in enumerate(profiles.items()):
        net = "plain" if label in plain or label.startswith("plain") else "residual"
        traces.append(
            {
                "type": "scatter",
                "x": [r.index for r in records],
                "y": [r.norm for r in records],
                "mode": "lines+markers",
                "name": label,
                "text": [r.name for r in records],
                "hovertemplate": "%{text}<br>%{y:.3g}<extra></extra>",
                "line": {
                    "color": COLORS[net] if len(profiles) <= 2 else None,
                    "dash": "solid" if i % 2 == 0 else "dot",
                },
            }
        )
    title = t("grad.plot.profile_title", lang) if step is None else t("grad.plot.profile_title_step", lang, step=step)
    return _figure(
        traces,
        title,
        yaxis=_axis(t("grad.plot.grad_norm", lang), type="log"),
        xaxis=_axis(t("grad.plot.layer_depth", lang)),
    )


def records_at(history: NetHistory, step: int = -1) -> list[LayerNorm]:
    """One step of a history as LayerNorm records (the latest by default)."""
    if not history.norms:
        return []
    row = history.norms[step]
    return [LayerNorm(i, n, v) for i, (n, v) in enumerate(zip(history.layer_names, row), start=1)]


def heatmap_figure(history: NetHistory, lang: Lang) -> go.Figure:
    """log10 of the gradient norm, layer (rows, input at the bottom) against step (columns)."""
    norms = np.asarray(history.norms, dtype=np.float64).reshape(len(history.norms), -1)  # (steps, layers)
    stride = max(1, math.ceil(len(norms) / MAX_HEAT_STEPS))  # long runs: every k-th step keeps redraws cheap
    steps = np.asarray(history.step_numbers)[::stride]
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(norms[::stride] > 0, np.log10(norms[::stride]), np.nan).T  # (layers, steps)
    heat: Trace = {
        "type": "heatmap",
        "z": z,
        "x": steps.tolist(),
        "y": list(range(1, len(history.layer_names) + 1)),
        "colorscale": "Viridis",
        "colorbar": {"title": {"text": "log₁₀"}},
        "hovertemplate": t("grad.plot.heat_hover", lang) + "<extra></extra>",
    }
    return _figure(
        [heat],
        history.title,
        height=340,
        xaxis=_axis(t("grad.plot.step", lang)),
        yaxis=_axis(t("grad.plot.layer_depth", lang)),
    )


RAW_OPACITY: Final = 0.25  # the raw curve, faint behind the smoothed one (as TensorBoard draws it)


def _smoothed_pair(x: list[int], y: Sequence[float], smoothing: float, trace: Trace) -> list[Trace]:
    """The smoothed curve (``trace`` with its name and legend), after the raw one drawn faintly without a legend;
    just the raw curve when ``smoothing`` is 0."""
    if smoothing <= 0:
        return [{**trace, "x": x, "y": list(y)}]
    raw: Trace = {
        **trace, "x": x, "y": list(y), "opacity": RAW_OPACITY, "showlegend": False, "hoverinfo": "skip",
        "line": {**trace["line"], "width": 1},  # type: ignore[dict-item]
    }  # fmt: skip
    return [raw, {**trace, "x": x, "y": ema(y, smoothing)}]


def curves_figure(histories: Sequence[NetHistory], lang: Lang, *, smoothing: float = DEFAULT_SMOOTHING) -> go.Figure:
    """Training loss and batch accuracy against step, both nets; smoothed by TensorBoard's exponential moving
    average (``smoothing`` its weight, 0 for none) over the raw values drawn faintly behind."""
    traces: list[Trace] = []
    for i, h in enumerate(histories):
        steps = h.step_numbers
        line = {"color": COLORS[h.net], "dash": "solid" if i < 2 else "dot"}
        common: Trace = {"type": "scatter", "name": h.title, "legendgroup": h.title, "line": line}
        traces += _smoothed_pair(steps, h.loss, smoothing, common)
        traces += _smoothed_pair(
            steps, h.accuracy, smoothing, {**common, "showlegend": False, "xaxis": "x2", "yaxis": "y2"}
        )
    step = t("grad.plot.step", lang)
    return _figure(
        traces,
        t("grad.plot.curves_title", lang),
        height=420,  # as tall as the gradient-ends figure beside it
        xaxis=_axis(step, domain=[0, 0.42]),
        yaxis=_axis(t("grad.plot.loss", lang)),
        xaxis2=_axis(step, domain=[0.58, 1], anchor="y2"),
        yaxis2=_axis(t("grad.plot.accuracy", lang), range=[0, 1], anchor="x2"),
    )


def ends_figure(histories: Sequence[NetHistory], lang: Lang) -> go.Figure:
    """The first and the last layer's gradient norm against step, both nets, on a log axis."""
    traces: list[Trace] = []
    for h in histories:
        steps = h.step_numbers
        for which, col, dash in (("first", 0, "solid"), ("last", -1, "dot")):
            traces.append(
                {
                    "type": "scatter",
                    "x": steps,
                    "y": [row[col] for row in h.norms],
                    "name": t(f"grad.plot.{which}_layer", lang, net=h.title),
                    "line": {"color": COLORS[h.net], "dash": dash},
                }
            )
    return _figure(
        traces,
        t("grad.plot.ends_title", lang),
        height=420,  # room for the four-line legend below the step axis
        legend={"orientation": "h", "yanchor": "top", "y": -0.3},
        yaxis=_axis(t("grad.plot.grad_norm", lang), type="log"),
        xaxis=_axis(t("grad.plot.step", lang)),
    )


def depth_colors(depths: Iterable[int]) -> dict[int, str]:
    """One colour per depth on a sequential scale, light for the shallowest and dark for the deepest."""
    ordered = sorted(set(depths))
    last = max(len(ordered) - 1, 1)
    at = [min(1.0, LIGHTEST + (1 - LIGHTEST) * i / last) for i in range(len(ordered))] if len(ordered) > 1 else [1.0]
    return dict(zip(ordered, sample_colorscale(DEPTH_SCALE, at)))


def sweep_figure(curves: Sequence[SweepCurve], lang: Lang, *, smoothing: float = 0.0) -> go.Figure:
    """He et al. 2015 Fig. 6 in small: training loss by step, plain nets left and residual nets right on one shared
    y-axis, coloured by depth (one legend entry per depth); ``smoothing`` as in ``curves_figure``."""
    colors = depth_colors(c.depth for c in curves)
    traces: list[Trace] = []
    shown: set[int] = set()
    for c in sorted(curves, key=lambda c: (not c.plain, c.depth)):  # plain first: the legend follows the left panel
        trace: Trace = {
            "type": "scatter", "name": t("grad.plot.sweep_depth", lang, depth=c.depth), "legendgroup": str(c.depth),
            "showlegend": c.depth not in shown, "line": {"color": colors[c.depth]},
            "xaxis": "x" if c.plain else "x2", "yaxis": "y" if c.plain else "y2",
            "hovertemplate": f"{c.title}<br>%{{x}}: %{{y:.3g}}<extra></extra>",
        }  # fmt: skip
        shown.add(c.depth)
        traces += _smoothed_pair(list(range(1, len(c.loss) + 1)), c.loss, smoothing, trace)
    step = t("grad.plot.step", lang)
    panel = {"xref": "paper", "yref": "paper", "y": 1.0, "yanchor": "bottom", "showarrow": False}
    panel["font"] = {"size": 15, "weight": "bold"}  # each panel's title, above it
    return _figure(
        traces,
        t("grad.plot.sweep_title", lang),
        height=440,
        margin={"l": 60, "r": 20, "t": 80, "b": 50},
        xaxis=_axis(step, domain=[0, 0.48]),
        yaxis=_axis(t("grad.plot.loss", lang)),
        xaxis2=_axis(step, domain=[0.52, 1], anchor="y2"),
        yaxis2={"matches": "y", "anchor": "x2", "showticklabels": False},  # one y-axis for both panels, as in Fig. 6
        annotations=[
            {**panel, "text": t("grad.plot.sweep_plain", lang), "x": 0.24, "xanchor": "center"},
            {**panel, "text": t("grad.plot.sweep_residual", lang), "x": 0.76, "xanchor": "center"},
        ],
    )
