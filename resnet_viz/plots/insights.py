"""Plotly figures of the lab's insights, built from their records: landscapes, lesions, ERFs, responses, shattering."""

from __future__ import annotations

import math
from collections.abc import Sequence

import plotly.graph_objects as go

from ..i18n import Lang, has, t
from ..lab.insights.erf import ERF
from ..lab.insights.landscape import Landscape
from ..lab.insights.lesion import Lesions
from ..lab.insights.responses import Responses
from ..lab.insights.shattered import LabShattering, Shattered
from .gradients import COLORS

__all__ = [
    "autocorrelation_figure",
    "erf_figure",
    "landscape_figure",
    "lesion_figure",
    "lesion_k_figure",
    "neighbour_figure",
    "responses_figure",
    "shattered_figure",
    "slice_figure",
]

Trace = dict[str, object]
GAP = 0.08  # horizontal space between side-by-side panels, as a share of the width
SERIES_COLORS = {"brown": "#8c564b", "white": "#7f7f7f"}


def _figure(traces: list[Trace], title: str, height: int = 400, **layout: object) -> go.Figure:
    """A figure from plain trace dicts, unvalidated (as plots.gradients: records can hold thousands of points)."""
    base: dict[str, object] = {
        "title": {"text": title},
        "height": height,
        "margin": {"l": 60, "r": 20, "t": 60, "b": 50},
        "legend": {"orientation": "h", "y": -0.2},
    }
    return go.Figure(data=traces, layout={**base, **layout}, _validate=False)


def _axis(title: str, **extra: object) -> dict[str, object]:
    return {"title": {"text": title}, **extra}


def _columns(n: int) -> list[list[float]]:
    """Domains of n side-by-side panels."""
    width = (1 - GAP * (n - 1)) / n
    return [[i * (width + GAP), i * (width + GAP) + width] for i in range(n)]


def _suffix(i: int) -> str:
    """Plotly's axis suffix of the i-th panel: "", "2", "3", ..."""
    return "" if i == 0 else str(i + 1)


def _net(net: str, lang: Lang) -> str:
    """A net's display name: translated for "residual" / "plain" and the toy nets, else as given."""
    key = f"insights.net.{net}"
    return t(key, lang) if has(key, lang) else net


def _color(net: str) -> str | None:
    return COLORS.get(net, SERIES_COLORS.get(net))


def _titles(names: Sequence[str], domains: Sequence[Sequence[float]], y: float = 1.0) -> list[dict[str, object]]:
    """Panel titles as annotations above each column."""
    return [
        {"text": name, "x": (d[0] + d[1]) / 2, "y": y, "xref": "paper", "yref": "paper", "showarrow": False,
         "xanchor": "center", "yanchor": "bottom"}
        for name, d in zip(names, domains)
    ]  # fmt: skip


def _log_ticks(values: Sequence[float]) -> tuple[list[float], list[str]]:
    """Colour-bar ticks for log10 values: 1, 3, 10, 30, ... times a power of ten, labelled with the loss itself."""
    lo, hi = math.floor(min(values)), math.ceil(max(values))
    nice = [m * 10.0**e for e in range(lo, hi + 1) for m in (1, 3)]
    kept = [v for v in nice if min(values) <= math.log10(v) <= max(values)] or [10.0 ** min(values)]
    return [math.log10(v) for v in kept], [f"{v:g}" for v in kept]


def landscape_figure(record: Landscape, lang: Lang) -> go.Figure:
    """Li et al. 2018, Fig. 1/5: per net, contours of the 2-D surface (top) and the surface in 3-D (below).

    Both are drawn on one log scale of the loss: near the weights it is a fraction of chance, at the grid's
    corners it can be hundreds of times that, and a linear scale would show a flat well with steep walls."""
    domains = _columns(len(record.nets))
    traces: list[Trace] = []
    layout: dict[str, object] = {}
    names = []
    logs = [[[math.log10(max(v, 1e-12)) for v in row] for row in s.grid_loss] for s in record.nets]
    flat = [v for z in logs for row in z for v in row] or [0.0]
    ticks, labels = _log_ticks(flat)
    scale = {"colorscale": "Viridis", "cmin": min(flat), "cmax": max(flat)}
    bar = {"title": {"text": t("insights.loss_log", lang)}, "tickvals": ticks, "ticktext": labels}
    hover = "α %{x:.2f}, β %{y:.2f}: %{customdata:.3f}<extra></extra>"
    for i, (s, z, dom) in enumerate(zip(record.nets, logs, domains)):
        k = _suffix(i)
        names.append(_net(s.net, lang))
        raw = [list(row) for row in s.grid_loss]  # rows along β
        traces.append(
            {"type": "contour", "x": list(record.alphas), "y": list(record.betas), "z": z, "customdata": raw,
             "xaxis": f"x{k}", "yaxis": f"y{k}", "zmin": scale["cmin"], "zmax": scale["cmax"],
             "colorscale": scale["colorscale"], "showscale": i == 0, "colorbar": bar, "ncontours": 24,
             "hovertemplate": hover}
        )  # fmt: skip
        traces.append(
            {"type": "surface", "x": list(record.alphas), "y": list(record.betas), "z": z, "customdata": raw,
             "scene": f"scene{k}", **scale, "showscale": False, "hovertemplate": hover}
        )  # fmt: skip
        layout[f"xaxis{k}"] = _axis(t("insights.alpha", lang), domain=dom, anchor=f"y{k}")
        layout[f"yaxis{k}"] = _axis(t("insights.beta", lang), domain=[0.58, 1.0], anchor=f"x{k}")
        layout[f"scene{k}"] = {
            "domain": {"x": dom, "y": [0.0, 0.48]},
            "xaxis": _axis(t("insights.alpha", lang)),
            "yaxis": _axis(t("insights.beta", lang)),
            "zaxis": _axis(t("insights.loss_log", lang), tickvals=ticks, ticktext=labels),
        }
    return _figure(
        traces, t("insights.landscape_title", lang), height=820, annotations=_titles(names, domains), **layout
    )


def slice_figure(record: Landscape, lang: Lang) -> go.Figure:
    """The 1-D slices f(α) = L(θ + αδ) of every net, overlaid."""
    traces: list[Trace] = [
        {"type": "scatter", "x": list(record.alphas), "y": list(s.slice_loss), "mode": "lines+markers",
         "name": _net(s.net, lang), "line": {"color": _color(s.net)}}
        for s in record.nets
    ]  # fmt: skip
    return _figure(
        traces,
        t("insights.slice_title", lang),
        xaxis=_axis(t("insights.alpha", lang)),
        yaxis=_axis(t("insights.loss_log", lang), type="log"),
    )


def lesion_figure(record: Lesions, lang: Lang) -> go.Figure:
    """Veit et al. 2016, Fig. 3: test error after deleting each single block, against the block's index.

    Hatched bars are downsampling blocks; a cross at zero marks a block that cannot be deleted (a plain block
    that changes shape); dashed lines are each net's error with nothing deleted.
    """
    traces: list[Trace] = []
    shapes: list[dict[str, object]] = []
    for n in record.nets:
        ok = [b for b in n.blocks if b.accuracy is not None]
        traces.append(
            {"type": "bar", "x": [b.index for b in ok], "y": [1.0 - (b.accuracy or 0.0) for b in ok],
             "name": _net(n.net, lang), "text": [b.name for b in ok], "textposition": "none",
             "marker": {"color": _color(n.net), "pattern": {"shape": ["/" if b.downsamples else "" for b in ok]}},
             "hovertemplate": "%{text}: %{y:.3f}<extra></extra>"}
        )  # fmt: skip
        missing = [b for b in n.blocks if b.accuracy is None]
        if missing:
            traces.append(
                {"type": "scatter", "x": [b.index for b in missing], "y": [0.0] * len(missing), "mode": "markers",
                 "marker": {"symbol": "x", "size": 10, "color": _color(n.net)}, "text": [b.name for b in missing],
                 "name": t("insights.impossible", lang, net=_net(n.net, lang)),
                 "hovertemplate": "%{text}<extra></extra>"}
            )  # fmt: skip
        shapes.append(
            {"type": "line", "xref": "paper", "x0": 0, "x1": 1, "y0": 1.0 - n.baseline.accuracy,
             "y1": 1.0 - n.baseline.accuracy, "line": {"color": _color(n.net), "dash": "dash"}}
        )  # fmt: skip
    return _figure(
        traces,
        t("insights.lesion_title", lang),
        barmode="group",
        shapes=shapes,
        xaxis=_axis(t("insights.block_index", lang), dtick=1),
        yaxis=_axis(t("insights.error", lang), range=[0, 1]),
    )


def lesion_k_figure(record: Lesions, lang: Lang) -> go.Figure:
    """Veit et al. 2016, Fig. 5: mean test error after deleting k random blocks (k = 0: nothing deleted)."""
    traces: list[Trace] = [
        {"type": "scatter", "x": [0] + [r.k for r in n.random_k],
         "y": [1.0 - n.baseline.accuracy] + [r.error for r in n.random_k],
         "error_y": {"type": "data", "array": [0.0] + [r.error_std for r in n.random_k]},
         "mode": "lines+markers", "name": _net(n.net, lang), "line": {"color": _color(n.net)}}
        for n in record.nets
    ]  # fmt: skip
    return _figure(
        traces,
        t("insights.lesion_k_title", lang),
        xaxis=_axis(t("insights.deleted_blocks", lang)),
        yaxis=_axis(t("insights.error", lang), range=[0, 1]),
    )


def _square(side: int, xref: str, yref: str, dash: str, color: str) -> dict[str, object]:
    """A centred side×side pixel square on a heat map whose axes count pixels from the centre."""
    h = side / 2
    return {"type": "rect", "xref": xref, "yref": yref, "x0": -h, "x1": h, "y0": -h, "y1": h,
            "line": {"color": color, "dash": dash, "width": 2}}  # fmt: skip


def erf_figure(records: Sequence[ERF], lang: Lang) -> go.Figure:
    """Luo et al. 2016, Fig. 1: each net's ERF, with the theoretical field (solid square) and the squares
    holding 95% (dashed) and 50% (dotted) of the gradient mass."""
    domains = _columns(len(records))
    traces: list[Trace] = []
    shapes: list[dict[str, object]] = []
    layout: dict[str, object] = {}
    for i, (r, dom) in enumerate(zip(records, domains)):
        k = _suffix(i)
        half = r.size // 2
        offsets = list(range(-half, half + 1))
        traces.append(
            {"type": "heatmap", "z": [list(row) for row in r.heat], "x": offsets, "y": offsets, "xaxis": f"x{k}",
             "yaxis": f"y{k}", "colorscale": "Hot", "showscale": False,
             "hovertemplate": "%{x}, %{y}: %{z:.2e}<extra></extra>"}
        )  # fmt: skip
        for side, dash in ((r.rf, "solid"), (r.side95, "dash"), (r.side50, "dot")):
            shapes.append(_square(side, f"x{k}", f"y{k}", dash, "#00d0ff"))
        layout[f"xaxis{k}"] = _axis(t("insights.pixels", lang), domain=dom, anchor=f"y{k}")
        layout[f"yaxis{k}"] = _axis("", anchor=f"x{k}", scaleanchor=f"x{k}", autorange="reversed")
    names = [t("insights.erf_panel", lang, net=_net(r.net, lang), rf=r.rf, s50=r.side50, s95=r.side95) for r in records]
    stage = records[0].stage if records else ""
    return _figure(
        traces,
        t("insights.erf_title", lang, stage=stage),
        height=460,
        shapes=shapes,
        annotations=_titles(names, domains),
        **layout,
    )


def responses_figure(record: Responses, lang: Lang) -> go.Figure:
    """He et al. 2015, Fig. 7: std of each 3×3 layer's response in layer order (left) and sorted (right)."""
    left, right = _columns(2)
    traces: list[Trace] = []
    for n in record.nets:
        line = {"color": _color(n.net)}
        traces.append(
            {"type": "scatter", "x": list(range(1, len(n.std) + 1)), "y": list(n.std), "text": list(n.layers),
             "mode": "lines+markers", "name": _net(n.net, lang), "line": line,
             "hovertemplate": "%{text}: %{y:.3f}<extra></extra>"}
        )  # fmt: skip
        traces.append(
            {"type": "scatter", "x": list(range(1, len(n.sorted_std) + 1)), "y": list(n.sorted_std),
             "mode": "lines", "name": _net(n.net, lang), "line": line, "showlegend": False, "xaxis": "x2",
             "yaxis": "y2"}
        )  # fmt: skip
    return _figure(
        traces,
        t("insights.responses_title", lang),
        xaxis=_axis(t("insights.layer_order", lang), domain=left),
        yaxis=_axis(t("insights.std", lang)),
        xaxis2=_axis(t("insights.sorted_order", lang), domain=right, anchor="y2"),
        yaxis2=_axis(t("insights.std", lang), anchor="x2"),
    )


def shattered_figure(record: Shattered, lang: Lang) -> go.Figure:
    """Balduzzi et al. 2017, Fig. 1 (top): dy/dx over the inputs for every toy net, and the two noises."""
    cols = 4
    rows = -(-len(record.series) // cols)
    domains = _columns(cols)
    height = 1.0 / rows
    traces: list[Trace] = []
    layout: dict[str, object] = {}
    names = []
    for i, s in enumerate(record.series):
        k, row, col = _suffix(i), i // cols, i % cols
        names.append((_net(s.name, lang), domains[col], 1.0 - row * height))
        traces.append(
            {"type": "scatter", "x": list(record.xs), "y": list(s.gradient), "mode": "lines", "xaxis": f"x{k}",
             "yaxis": f"y{k}", "showlegend": False, "line": {"width": 1, "color": _color(s.name) or "#1f77b4"}}
        )  # fmt: skip
        y_dom = [1.0 - (row + 1) * height + 0.07, 1.0 - row * height - 0.05]
        layout[f"xaxis{k}"] = _axis(t("insights.input_x", lang) if row == rows - 1 else "", domain=domains[col],
                                    anchor=f"y{k}")  # fmt: skip
        layout[f"yaxis{k}"] = _axis(t("insights.gradient", lang) if col == 0 else "", domain=y_dom, anchor=f"x{k}")
    annotations = [
        {"text": name, "x": (d[0] + d[1]) / 2, "y": y - 0.05, "xref": "paper", "yref": "paper", "showarrow": False,
         "xanchor": "center", "yanchor": "bottom"}
        for name, d, y in names
    ]  # fmt: skip
    return _figure(traces, t("insights.shattered_title", lang), height=260 * rows, annotations=annotations, **layout)


def autocorrelation_figure(record: Shattered, lang: Lang) -> go.Figure:
    """Balduzzi et al. 2017, Fig. 1 (bottom): the autocorrelation of every curve against the lag."""
    traces: list[Trace] = [
        {"type": "scatter", "x": list(range(len(s.autocorrelation))), "y": list(s.autocorrelation),
         "mode": "lines", "name": _net(s.name, lang),
         "line": {"color": _color(s.name), "dash": "dot" if s.name in SERIES_COLORS else "solid"}}
        for s in record.series
    ]  # fmt: skip
    return _figure(
        traces,
        t("insights.autocorr_title", lang),
        xaxis=_axis(t("insights.lag", lang)),
        yaxis=_axis(t("insights.autocorrelation", lang), range=[-1, 1]),
    )


def neighbour_figure(record: LabShattering, lang: Lang) -> go.Figure:
    """Correlation of the input gradient between an image and its noisy neighbour, by noise level."""
    traces: list[Trace] = [
        {"type": "scatter", "x": list(n.distances), "y": list(n.correlation), "mode": "lines+markers",
         "name": _net(n.net, lang), "line": {"color": _color(n.net)}}
        for n in record.nets
    ]  # fmt: skip
    return _figure(
        traces,
        t("insights.neighbour_title", lang),
        xaxis=_axis(t("insights.distance", lang), type="log"),
        yaxis=_axis(t("insights.correlation", lang), range=[-1, 1]),
    )
