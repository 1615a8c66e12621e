"""A laid-out view as ECharts options: a graph series at graphviz's positions, hover text for every node and
edge, frames around open groups, and nodes coloured by an overlay. Plain data, no JavaScript: hover, pan
and zoom happen in the browser without a rerun.
"""

from __future__ import annotations

import hashlib
import html
import itertools
import json
import math
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any, Final

from ..i18n import DEFAULT_LANG, Lang, t
from .colors import ramp
from .layout import Cluster, Layout, LEdge, LNode
from .model import Hierarchy, Node
from .overlay import Overlay
from .units import human, human_bytes, shape_text

__all__ = [
    "HEIGHT_PX",
    "MATCH",
    "MAX_HEIGHT_PX",
    "SELECTED",
    "SERIES_ID",
    "Focus",
    "all_items",
    "chart_height",
    "clip",
    "options",
    "shows_all",
]

HEIGHT_PX: Final = 720  # the chart's height in the page, unless a little more draws its graph whole (chart_height)
# A graph up to this tall is drawn whole and readable in a chart of its own height: Home's ResNet-50 stages are 801
# points tall, which a 720 px chart showed zoomed in to read, its head cut off at the bottom.
MAX_HEIGHT_PX: Final = 960
_MARGIN: Final = 40  # pixels above and below the series (its ``top``, and as much below)
READABLE: Final = 1.0  # pixels per graphviz point: labels (11 px) fit their boxes (laid out for 11 pt)
MAX_WIDTH_PX: Final = 1400
# What the browser holds: only the items near the view (the view and GROW views on each side), and labels only
# where they can be read (LABELS_FROM pixels per point or more). When that is not everything, the whole graph
# travels as one JSON string (``rv.all``) that graph_window.js cuts again as the view moves: ECharts draws every
# item it holds on every frame, so ResNet-1202 all open (30,000 items) would pan at 4 frames a second.
GROW: Final = 1.0
LABELS_FROM: Final = 0.5
SERIES_ID: Final = "net"
_NO_LABEL: Final = {"show": False}  # a bend, corner or entry point: never a label, even where the series shows them
_EDGE_COLOR: Final = {"main": "#495057", "identity": "#2b8a3e", "projection": "#1864ab", "pad": "#c2255c"}
_EDGE_TYPE: Final = {"main": "solid", "identity": "dashed", "projection": "solid", "pad": "dotted"}
_EDGE_WIDTH: Final = {"main": 1.2, "identity": 1.6, "projection": 2.2, "pad": 2.0}
SELECTED: Final = "#7048e8"  # violet: apart from the orange of downsampling layers and the amber of matches
MATCH: Final = "#f59f00"


@dataclass(frozen=True)
class Focus:
    """What the view centres on, and how close."""

    node: str | None  # a drawn node id; None: the top of the net
    fit: bool = False  # the whole net on screen


def _esc(s: object) -> str:
    return html.escape(str(s), quote=True)


def chart_height(layout: Layout) -> int:
    """The chart's height in pixels: HEIGHT_PX, or up to MAX_HEIGHT_PX where that draws all of ``layout`` readably."""
    need = math.ceil(layout.height * READABLE) + _MARGIN
    return need if HEIGHT_PX < need <= MAX_HEIGHT_PX else HEIGHT_PX


def _scale(layout: Layout) -> float:
    """Pixels per point at zoom 1: the whole layout fits the chart's height (and a wide screen)."""
    return min((chart_height(layout) - _MARGIN) / max(layout.height, 1.0), MAX_WIDTH_PX / max(layout.width, 1.0))


def node_tip(h: Hierarchy, n: Node, lang: Lang, overlay: Overlay | None, extra: str | None = None) -> str:
    """The hover text of one node: its record, its share of the net, the overlay's value and ``extra`` (plain text,
    escaped here: a picture's numbers at this node)."""

    def tr(key: str, **v: object) -> str:
        return t(f"graph.tip.{key}", lang, **v)

    lines = [f"<b>{_esc(n.id)}</b> · {_esc(n.type)}" + (f" ×{n.count}" if n.count > 1 else "")]
    if n.kernel is not None:
        pad = shape_text(n.padding) if n.padding else "–"
        stride = shape_text(n.stride) if n.stride else "1×1"
        lines.append(_esc(tr("window", kernel=shape_text(n.kernel), stride=stride, padding=pad)))
    if n.input_shape:
        lines.append(_esc(f"{shape_text(n.input_shape)} → {shape_text(n.output_shape)}"))
    if n.kind not in ("input", "output"):
        p_share = 100 * n.params / h.total_params if h.total_params else 0.0
        m_share = 100 * n.macs / h.total_macs if h.total_macs else 0.0
        lines.append(_esc(tr("params", n=f"{n.params:,}", share=f"{p_share:.1f}")))
        lines.append(_esc(tr("macs", n=human(n.macs), share=f"{m_share:.1f}")))
    if n.rf is not None:
        lines.append(_esc(tr("rf", rf=shape_text(n.rf))))
    if overlay is not None and n.id in overlay.values:
        lines.append(f"<b>{_esc(overlay.label)}: {_esc(overlay.fmt(overlay.values[n.id]))}</b>")
    if extra:
        lines.append(_esc(extra))
    if n.kind in ("stage", "run", "block", "group"):
        lines.append(f"<i>{_esc(tr('click_open'))}</i>")
    return "<br/>".join(lines)


def edge_tip(e: LEdge, lang: Lang) -> str:
    shape = e.edge.shape
    size = 4 * math.prod(shape) if shape else 0
    text = t("graph.tip.edge", lang, shape=shape_text(shape), size=human_bytes(size))
    if e.edge.note:
        text += "<br/>" + _esc(e.edge.note.replace("\n", " "))
    return _esc(text).replace("&lt;br/&gt;", "<br/>")


def _node_item(
    n: LNode,
    s: float,
    h: Hierarchy,
    lang: Lang,
    overlay: Overlay | None,
    marks: Mapping[str, str],
    tips: Mapping[str, str],
) -> dict[str, Any]:
    v = n.node
    item: dict[str, Any] = {"name": n.id, "x": _r(n.x), "y": _r(n.y)}
    if v is None:  # a segment's entry point: a joint, not a node
        # sized in layout points like the boxes, so it stays a small joint at every zoom
        joint = 3.0 * s
        return item | {
            "symbol": "circle",
            "symbolSize": joint,
            "itemStyle": {"color": "#495057"},
            "silent": True,
            "label": _NO_LABEL,
        }
    fill = v.fill
    if overlay is not None:
        fill = overlay.color(n.id) or "#f1f3f5"
    elif v.down:
        fill = "#ffe1c7"
    border = marks.get(n.id, "#d9480f" if v.down else "#868e96")
    width = 3 if n.id in marks else (2 if v.down else 1)
    item |= {
        "symbol": "circle" if v.kind == "add" else "roundRect",
        "symbolSize": [n.w * s, n.h * s],
        "itemStyle": {"color": fill, "borderColor": border, "borderWidth": width},
        "label": {  # shown where the series shows labels (zoomed in enough to read them)
            "formatter": "\n".join(v.lines),
            "fontSize": 11 if v.kind != "add" else 12,
            "color": _ink(fill),
        },
    }
    node = h.nodes.get(n.id) if v.kind != "add" or n.id in h else h.nodes.get(n.id.removesuffix(".add"))
    if v.kind in ("input", "output"):
        item["itemStyle"] = {"color": "rgba(0,0,0,0)", "borderWidth": 0}
        item["label"]["fontSize"] = 12
    if node is not None:
        item["tooltip"] = {"formatter": node_tip(h, node, lang, overlay, tips.get(n.id))}
        item["value"] = overlay.values.get(n.id) if overlay is not None else None
    return item


def _frame_items(c: Cluster, lang: Lang, s: float) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """A frame around an open group: four links between invisible corners (a tall rect symbol would be squashed
    by ECharts' symbol sizing), and its name at the top left. Clicking the frame or its name folds the group."""
    tip = {"formatter": f"<b>{_esc(c.id)}</b><br/><i>{_esc(t('graph.tip.click_fold', lang))}</i>"}
    name = f"frame:{c.id}"
    corners = [(c.x0, c.y0), (c.x1, c.y0), (c.x1, c.y1), (c.x0, c.y1)]
    nodes: list[dict[str, Any]] = [
        {"name": f"{name}#{i}", "x": _r(x), "y": _r(y), "label": _NO_LABEL} for i, (x, y) in enumerate(corners)
    ]
    nodes.append(
        {
            "name": name,
            "x": _r(c.x0 + 3),
            "y": _r(c.y0 + 9),
            "symbol": "rect",
            # invisible, in layout points like the boxes; its area ranks the label above the edges' shape labels
            "symbolSize": [30 * s, 12 * s],
            "symbolOffset": [15 * s, 0],
            "itemStyle": {"color": "rgba(0,0,0,0)"},
            "label": {  # a stage's name shows at every zoom, to find one's way; a block's where labels read
                **({"show": True} if c.depth == 0 else {}),
                "position": "insideLeft",
                "formatter": c.id if c.id not in ("stem", "head") else t(f"graph.{c.id}", lang),
                "fontSize": 12,
                "color": "#495057",
                "fontWeight": "bold" if c.depth == 0 else "normal",
            },
            "tooltip": tip,
        }
    )
    line = {"color": "#adb5bd" if c.depth == 0 else "#868e96", "type": "dashed" if c.depth == 0 else "solid"}
    links = [
        {"name": name, "source": f"{name}#{i}", "target": f"{name}#{(i + 1) % 4}", "lineStyle": line, "tooltip": tip}
        for i in range(4)
    ]
    return nodes, links


def _ink(fill: str) -> str:
    """Label colour readable on ``fill`` (#rrggbb): white on dark fills, near-black elsewhere."""
    if len(fill) != 7 or not fill.startswith("#"):
        return "#212529"
    r, g, b = (int(fill[i : i + 2], 16) / 255 for i in (1, 3, 5))
    return "#ffffff" if 0.2126 * r + 0.7152 * g + 0.0722 * b < 0.45 else "#212529"


def _edge_items(e: LEdge, k: int, lang: Lang, s: float) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """An edge as links through invisible bend points; its shape label on the middle piece, the arrow at the end."""
    style = e.edge.style
    line = _line(style)
    tip = {"formatter": edge_tip(e, lang)}
    names = [e.src, *(f"e{k}.{i}" for i in range(len(e.points) - 2)), e.dst]
    bends: list[dict[str, Any]] = [
        {"name": n, "x": _r(x), "y": _r(y), "label": _NO_LABEL} for n, (x, y) in zip(names[1:-1], e.points[1:-1])
    ]  # no symbol: the series' default
    if e.label_at is not None and e.edge.shape:  # the shape, where graphviz put it
        x, y = e.label_at
        bends.append(
            {
                "name": f"e{k}.label",
                "x": _r(x),
                "y": _r(y),
                "symbol": "rect",
                "symbolSize": 2 * s,
                "itemStyle": {"color": "rgba(0,0,0,0)"},
                "label": {"formatter": shape_text(e.edge.shape), "fontSize": 10, "color": "#495057"},
                "tooltip": tip,
            }
        )
    links: list[dict[str, Any]] = [{"source": a, "target": b, "tooltip": tip} for a, b in itertools.pairwise(names)]
    if style != "main":  # the series' line is the main path's
        for link in links:
            link["lineStyle"] = line
    return bends, links


def _line(style: str) -> dict[str, Any]:
    return {"color": _EDGE_COLOR[style], "type": _EDGE_TYPE[style], "width": _EDGE_WIDTH[style], "curveness": 0}


def _r(v: float) -> float:
    """A coordinate to a tenth of a point: a smaller payload, and no visible difference at any zoom."""
    return round(v, 1)


def options(
    layout: Layout,
    h: Hierarchy,
    *,
    lang: Lang = DEFAULT_LANG,
    overlay: Overlay | None = None,
    selected: str | None = None,
    matches: Collection[str] = (),
    focus: Focus | None = None,
    scale: tuple[float, float] | None = None,
    tips: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """ECharts options drawing ``layout``; ``selected`` and ``matches`` get coloured borders; ``tips`` adds a line of
    plain text to the hover text of the nodes it names."""
    s = _scale(layout)
    marks = dict.fromkeys(matches, MATCH) | ({selected: SELECTED} if selected else {})
    # Two invisible corners make the data's box the layout's box, so x and y scale alike (ECharts fits the
    # series box to the data's box per axis, and sizes symbols by the x scale).
    corners: list[dict[str, Any]] = [
        {"name": f"corner{i}", "x": x, "y": y, "label": _NO_LABEL}
        for i, (x, y) in enumerate(((0.0, 0.0), (layout.width, layout.height)))
    ]  # always held (graph_window.js and clip keep the first two items): they fix the scale
    data: list[dict[str, Any]] = corners
    links: list[dict[str, Any]] = []
    for c in layout.clusters:
        frame_nodes, frame_links = _frame_items(c, lang, s)
        data += frame_nodes
        links += frame_links
    data += [_node_item(n, s, h, lang, overlay, marks, tips or {}) for n in layout.nodes]
    for k, e in enumerate(layout.edges):
        bends, pieces = _edge_items(e, k, lang, s)
        data += bends
        links += pieces
    zoom, center = _view(layout, s, focus)
    win = _window(layout, s, zoom, center)
    labels = s * zoom >= LABELS_FROM
    shown, shown_links = clip(data, links, win)
    series: dict[str, Any] = {
        "type": "graph",
        "layout": "none",
        "roam": True,
        "nodeScaleRatio": 1,
        "scaleLimit": {"min": 0.5, "max": max(4.0, 3.0 / s)},
        "top": 20,
        "left": "center",
        "width": layout.width * s,
        "height": layout.height * s,
        "zoom": zoom,
        "data": shown,
        "links": shown_links,
        "symbol": "circle",  # bends and corners: no symbol; nodes set their own
        "symbolSize": 0,
        "label": {"show": labels, "color": "#212529", "lineHeight": 13},
        "lineStyle": _line("main"),
        "labelLayout": {"hideOverlap": True},  # few labels where they are small: only the stages
        "emphasis": {"focus": "none", "scale": False},
        "animation": False,
    }
    if center is not None:
        series["center"] = center
    opts: dict[str, Any] = {
        "animation": False,
        "tooltip": {"trigger": "item", "confine": True, "enterable": False, "transitionDuration": 0},
        "series": [series],
    }
    # for graph_window.js: where it stands, and the whole graph when the series holds less
    opts["rv"] = {"win": list(win), "grow": GROW, "labelsFrom": LABELS_FROM}
    if len(shown) < len(data) or len(shown_links) < len(links):
        opts["rv"]["all"] = json.dumps({"data": data, "links": links}, separators=(",", ":"))
    if overlay is not None:
        lo, hi = scale if scale is not None else overlay.range()
        opts["visualMap"] = {
            "type": "continuous",
            "min": lo,
            "max": hi,
            "calculable": False,
            "seriesIndex": 1,
            "orient": "vertical",
            "left": 8,
            "bottom": 16,
            "text": [overlay.fmt(hi), overlay.fmt(lo)],
            "inRange": {"color": list(ramp())},
        }
        # the legend needs a series of its own to belong to: an empty one on a hidden axis pair
        opts["series"].append({"type": "scatter", "data": [], "silent": True})
        opts["grid"] = {"show": False, "left": 0, "top": 0, "width": 1, "height": 1}
        opts["xAxis"] = {"show": False, "type": "value"}
        opts["yAxis"] = {"show": False, "type": "value"}
        opts["title"] = {  # on a white ground: a graph zoomed in to a node may run under it
            "text": overlay.label,
            "left": 8,
            "top": 4,
            "textStyle": {"fontSize": 13},
            "backgroundColor": "rgba(255,255,255,0.9)",
            "padding": [2, 6],
            "borderRadius": 4,
        }
    # The series' id names these options, so graph_window.js can tell the server's new ones from its own cuts.
    digest = hashlib.blake2b(json.dumps(opts, separators=(",", ":")).encode(), digest_size=6).hexdigest()
    series["id"] = f"{SERIES_ID}-{digest}"
    return opts


def shows_all(layout: Layout, focus: Focus | None = None) -> bool:
    """Whether the chart's first view of ``layout`` holds all of it (else a caption says there is more)."""
    return _view(layout, _scale(layout), focus)[0] == 1.0


def _window(layout: Layout, s: float, zoom: float, center: list[float] | None) -> tuple[float, float, float, float]:
    """The layout points held in the browser: the chart's view (at its widest) and GROW views on each side."""
    ppp = s * zoom
    cx, cy = center if center is not None else (layout.width / 2, layout.height / 2)
    k = 0.5 + GROW
    hw, hh = k * MAX_WIDTH_PX / ppp, k * chart_height(layout) / ppp
    return (cx - hw, cy - hh, cx + hw, cy + hh)


def clip(
    data: list[dict[str, Any]],
    links: list[dict[str, Any]],
    win: tuple[float, float, float, float] | list[float],
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The items inside ``win`` (x0, y0, x1, y1): nodes whose centre is in it, links that cross it with both ends,
    and the first two items (the corners that fix the scale). graph_window.js does the same in the browser as
    the view moves."""
    x0, y0, x1, y1 = win
    at = {d["name"]: (d["x"], d["y"]) for d in data}
    keep = {d["name"] for i, d in enumerate(data) if i < 2 or (x0 <= d["x"] <= x1 and y0 <= d["y"] <= y1)}
    shown_links = []
    for link in links:
        (ax, ay), (bx, by) = at[link["source"]], at[link["target"]]
        if max(ax, bx) >= x0 and min(ax, bx) <= x1 and max(ay, by) >= y0 and min(ay, by) <= y1:
            shown_links.append(link)
            keep.update((link["source"], link["target"]))
    return [d for d in data if d["name"] in keep], shown_links


def all_items(opts: Mapping[str, Any]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Every item of a graph's options (data, links), also those the browser holds back until they come in view."""
    if "all" in opts.get("rv", {}):
        whole = json.loads(opts["rv"]["all"])
        return whole["data"], whole["links"]
    return opts["series"][0]["data"], opts["series"][0]["links"]


def _view(layout: Layout, s: float, focus: Focus | None) -> tuple[float, list[float] | None]:
    """(zoom, centre): everything when it reads at that size or when asked; else readable, at the focus."""
    if focus is not None and focus.fit:
        return 1.0, None
    zoom = max(1.0, READABLE / s)
    if zoom == 1.0 and (focus is None or focus.node is None):
        return 1.0, None
    target = None
    if focus is not None and focus.node is not None:
        target = next((n for n in layout.nodes if n.id == focus.node), None)
        frame = next((c for c in layout.clusters if c.id == focus.node), None)
        if target is None and frame is not None:  # an open group: its top, where its first layers are
            half = (chart_height(layout) - _MARGIN) / 2 / (s * zoom)
            return zoom, [(frame.x0 + frame.x1) / 2, frame.y0 + half - 20]
    if target is None:
        top = layout.nodes[0]
        half = (chart_height(layout) - _MARGIN) / 2 / (s * zoom)
        return zoom, [layout.width / 2, min(top.y + half - 20, layout.height / 2)]
    return zoom, [target.x, target.y]
