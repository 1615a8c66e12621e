"""The interactive graph: open and fold by clicking, hover for records and shapes, search, a link per node,
overlays, and the plain twin beside it with the same state. One component wherever a net is drawn.

graphviz lays out what is open (resnet_viz.graph.layout); ECharts draws it in the browser (streamlit-echarts),
so hover, pan and zoom never rerun the script; a click comes back through the component's callback.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Final

import streamlit as st
from streamlit_echarts import st_echarts

from ...errors import UserError
from ...graph.echarts import Focus, chart_height, options, shows_all
from ...graph.layout import Layout, layout
from ...graph.model import Hierarchy, hierarchy
from ...graph.overlay import TRACE_OVERLAYS, Overlay, shared_range, trace_overlay
from ...graph.view import View, all_open, view
from ...i18n import Lang, t
from ...nets.spec import ResNetSpec
from ..core.cache import cached_trace
from ..core.text import lang, say_error, tr
from .graph_details import details
from .graph_state import GraphState, Start, marked, on_click, search, state, take_url_node

__all__ = ["cached_hierarchy", "net_graph"]

# A click returns the node's name and a time, so two clicks on one node are two events. Constant code: no
# user text ever reaches it (names travel as data).
_CLICK: Final = "function(p){ if (!p.data || !p.data.name) { return; } return {id: p.data.name, t: Date.now()}; }"
# Holds only the items near the view, cutting them again from the whole graph as the view moves (see
# resnet_viz.graph.echarts.clip). Constant code, bound to the redraws and to every pan and zoom.
_WINDOW: Final = (Path(__file__).parent / "graph_window.js").read_text(encoding="utf-8")


@st.cache_resource(max_entries=32, show_spinner=False)
def cached_hierarchy(spec: ResNetSpec, input_size: tuple[int, int] | None) -> Hierarchy:
    """The hierarchy of one traced net (read-only, shared by sessions)."""
    return hierarchy(cached_trace(spec, input_size))


@st.cache_resource(max_entries=256, show_spinner=False)
def _laid_out(spec: ResNetSpec, input_size: tuple[int, int] | None, opened: frozenset[str], code: Lang) -> Layout:
    return layout(_view(spec, input_size, opened, code))


@st.cache_resource(max_entries=256, show_spinner=False)
def _view(spec: ResNetSpec, input_size: tuple[int, int] | None, opened: frozenset[str], code: Lang) -> View:
    return view(cached_hierarchy(spec, input_size), opened, lang=code)


def _toolbar(
    key: str,
    gs: GraphState,
    h: Hierarchy,
    overlay_names: Sequence[str],
    labels: Mapping[str, str],
    default: str | None = None,
) -> tuple[list[str], str | None]:
    """Search with next / previous, open all, fold all, fit, and the overlay picker; returns matches and overlay."""
    c = st.columns([2.2, 0.5, 0.5, 1.4, 1.4, 1.4, 2.2], vertical_alignment="bottom")  # room for 全部展开 and its icon
    query = (
        c[0]
        .text_input(tr("graph.search"), key=f"{key}.query", placeholder=tr("graph.search_hint"), max_chars=120)
        .strip()
    )
    step = -1 if c[1].button("◀", key=f"{key}.prev", help=tr("graph.prev")) else 0
    step = 1 if c[2].button("▶", key=f"{key}.next", help=tr("graph.next")) else step
    if c[3].button(tr("graph.open_all"), key=f"{key}.open_all", icon=":material/unfold_more:"):
        gs.open, gs.fit = set(all_open(h)), False
    if c[4].button(tr("graph.fold_all"), key=f"{key}.fold_all", icon=":material/unfold_less:"):
        gs.open, gs.focus, gs.fit = set(), None, True
    if c[5].button(tr("graph.fit"), key=f"{key}.fit", icon=":material/fit_screen:"):
        gs.fit = True
    code = lang()  # bound now: AppTest calls format_funcs after the run, outside it
    choices = ["none", *overlay_names]
    overlay = c[6].selectbox(
        tr("graph.overlay"),
        choices,
        index=choices.index(default) if default in choices else 0,
        key=f"{key}.overlay",
        format_func=lambda v: t(f"graph.overlay_{v}", code) if v in ("none", *TRACE_OVERLAYS) else labels.get(v, v),
    )
    matches = search(gs, h, query, step) if query else []
    if not query:
        gs.query = ""
    if query and not matches:
        st.info(tr("graph.no_match", query=query))
    elif matches:
        st.caption(tr("graph.matches", n=len(matches), i=gs.match + 1, node=matches[gs.match]))
    return matches, (None if overlay == "none" else overlay)


def _breadcrumb(gs: GraphState, h: Hierarchy) -> None:
    groups = [g for g in h.groups() if g in gs.open and h[g].kind != "run"]
    if groups:
        shown = ", ".join(groups[:12]) + (" …" if len(groups) > 12 else "")
        st.caption(tr("graph.open_now", n=len(groups), groups=shown))
    else:
        st.caption(tr("graph.all_folded"))


def _chart(
    key: str,
    side: str,
    spec: ResNetSpec,
    input_size: tuple[int, int] | None,
    gs: GraphState,
    matches: Sequence[str],
    overlay: Overlay | None,
    scale: tuple[float, float] | None,
    tips: Mapping[str, str] | None = None,
) -> tuple[View, bool]:
    """Draws one net's chart; returns its view and whether the chart shows all of it."""
    code = lang()
    h = cached_hierarchy(spec, input_size)
    opened = frozenset(g for g in gs.open if g in h)
    v = _view(spec, input_size, opened, code)
    lay = _laid_out(spec, input_size, opened, code)
    focus = Focus(gs.focus if gs.focus in h else None, gs.fit)
    selected = gs.selected if gs.selected in h else None
    opts = options(
        lay,
        h,
        lang=code,
        overlay=overlay,
        selected=selected,
        matches=marked(h, opened, matches),
        focus=focus,
        scale=scale,
        tips=tips,
    )
    chart_key = f"{key}.chart.{side}"
    st_echarts(
        opts,
        height=f"{chart_height(lay)}px",
        key=chart_key,
        events={"click": _CLICK, "finished": _WINDOW, "graphroam": _WINDOW},
        on_change=functools.partial(on_click, key, chart_key, h),
        theme={},
    )
    return v, shows_all(lay, focus)


def _one_scale(found: Sequence[Overlay]) -> tuple[float, float]:
    """One colour range over the drawn overlays: the range they were given (a picture's dead share is 0..1 on every
    picture, its mean the range over both nets' nodes) where each has one, else the range of their values."""
    if all(o.lo is not None and o.hi is not None for o in found):
        return min(o.range()[0] for o in found), max(o.range()[1] for o in found)
    return shared_range(found)


@st.fragment
def net_graph(
    spec: ResNetSpec,
    input_size: tuple[int, int] | None,
    *,
    key: str,
    start: Start = "block",
    twin: bool = False,
    overlays: Mapping[str, tuple[Overlay, Overlay | None]] | None = None,
    details_panel: bool = True,
    default_overlay: str | None = None,
    beside: Sequence[tuple[str, ResNetSpec]] = (),
    toolbar: bool = True,
    node: str | None = None,
    url: bool = True,
    after: Callable[[View], None] | None = None,
    tips: Sequence[Mapping[str, str]] = (),
    node_panel: Callable[[str], None] | None = None,
    on_overlay: Callable[[str | None], None] | None = None,
) -> None:
    """Draw ``spec``'s graph (and its plain twin beside it, or every net in ``beside``, ``spec``'s first). All share
    one state: what is open, selected and searched.

    ``overlays`` adds named overlays beyond the tracer's: (the net's, the twin's) values, sharing one scale.
    ``node`` opens, selects and centres that node on the first draw, as a ``node=`` link does (the URL's wins);
    ``url=False`` neither reads nor writes ``node=`` (a page with several graphs, such as the tour).
    The graph is a fragment: a click, a search or a button reruns it alone, not the page, and ``after(view)``
    draws what must follow it with the view drawn for ``spec`` (the explorer's exports of what is open).
    ``tips`` adds a line to the hover text of each drawn net's nodes (a picture's numbers), in the order drawn;
    ``node_panel(node)`` draws below the details of the selected node (its maps for a picture), and
    ``on_overlay(name)`` hears the overlay chosen on each run (the explorer keeps a picture's statistic in its URL).
    """
    h = cached_hierarchy(spec, input_size)
    gs = state(key, h, start, node, url=url)
    take_url_node(gs, h)
    if gs.bad_node is not None:
        st.warning(tr("graph.bad_node", node=gs.bad_node))
    extra = dict(overlays or {})
    labels = {k: pair[0].label for k, pair in extra.items()}
    if toolbar:
        matches, overlay_name = _toolbar(key, gs, h, [*TRACE_OVERLAYS, *extra], labels, default_overlay)
    else:  # a glance (Home's half column): no search or overlay
        matches, overlay_name = [], None
    if on_overlay is not None:
        on_overlay(overlay_name)
    _breadcrumb(gs, h)
    if beside:  # (title, spec) of every net drawn, ``spec``'s first
        titled = list(beside)
    elif twin:
        titled = [
            (tr("explorer.plain_heading" if s.plain else "explorer.residual_heading"), s) for s in (spec, spec.twin())
        ]
    else:
        titled = [("", spec)]
    specs = [s for _, s in titled]
    chosen: list[Overlay | None] = [None] * len(specs)
    if overlay_name in TRACE_OVERLAYS:
        label = tr(f"graph.overlay_{overlay_name}")
        chosen = [trace_overlay(cached_hierarchy(s, input_size), overlay_name, label) for s in specs]
    elif overlay_name in extra:
        chosen = list(extra[overlay_name])[: len(specs)]
    found = [o for o in chosen if o is not None]
    scale = _one_scale(found) if found else None
    if scale is not None:  # the net and its twin on one colour scale
        chosen = [None if o is None else o.with_range(*scale) for o in chosen]
    try:  # every net laid out before any is drawn: Graphviz's `dot` missing is one sentence, not half a row
        for s in specs:
            _laid_out(s, input_size, frozenset(g for g in gs.open if g in cached_hierarchy(s, input_size)), lang())
    except UserError as e:
        say_error(e)
        return
    cols = st.columns(len(specs)) if len(specs) > 1 else [st.container()]
    drawn: View | None = None
    whole = True
    for i, (col, (title, s), o) in enumerate(zip(cols, titled, chosen)):
        with col:
            if title:
                st.markdown(f"**{title}**")
            side = f"n{i}" if beside else ("plain" if s.plain else "net")
            tip = tips[i] if i < len(tips) else None
            v, all_shown = _chart(key, side, s, input_size, gs, matches, o, scale, tip)
            drawn, whole = drawn or v, whole and all_shown
    if not whole:  # zoomed in to read: the rest is there, beyond the frame
        st.caption(tr("graph.more" if toolbar else "graph.more_no_fit"))
    gs.focus = gs.selected if gs.selected in h else None  # later reruns keep the view where it was put
    if details_panel and gs.selected is not None and gs.selected in h:
        details(spec, input_size, h, gs.selected)
        if node_panel is not None:
            node_panel(gs.selected)
    elif details_panel:
        st.caption(tr("graph.hint"))
    assert drawn is not None
    if after is not None:
        after(drawn)
