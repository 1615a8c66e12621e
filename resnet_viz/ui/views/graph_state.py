"""The interactive graph's state in the session: what is open, what is selected, the search and its matches.

One graph on a page has one key; its net and the plain twin drawn beside it share the state, so opening
``layer3`` on one side opens it on the other. Clicks arrive in a component callback, before the script runs.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

import streamlit as st

from ...graph.model import GROUP_KINDS, Hierarchy
from ...graph.view import level_open, visible_id

__all__ = ["GraphState", "on_click", "state", "take_url_node"]

Start = Literal["stage", "block"]


@dataclass
class GraphState:
    open: set[str]
    selected: str | None = None
    focus: str | None = None  # the node the view centres on after this run
    fit: bool = False
    query: str = ""
    match: int = 0
    last_event: float = 0.0
    url_node: str | None = None  # the node= value already applied
    bad_node: str | None = None  # a node= that names nothing in this net
    url: bool = True  # node= in the page's URL is read and written (off where a page has several graphs)


def state(key: str, h: Hierarchy, start: Start, node: str | None = None, *, url: bool = True) -> GraphState:
    """This graph's state, made on first use: stages closed on Home, blocks shown on the explorer; ``node``, if
    given, opened, selected and centred as a ``node=`` link would (a link in the URL still wins)."""
    name = f"{key}.state"
    if name not in st.session_state:
        made = GraphState(open=set(level_open(h, start, fold=True)), url=url)
        if node is not None:
            _pick(made, h, node)
        st.session_state[name] = made
    gs: GraphState = st.session_state[name]
    return gs


def show(gs: GraphState, h: Hierarchy, node_id: str, *, select: bool = True) -> None:
    """Open what must be open for ``node_id`` to be drawn, select it and centre the view on it."""
    gs.open |= set(h.ancestors(node_id))
    if select:
        gs.selected = node_id
    gs.focus, gs.fit = node_id, False


def take_url_node(gs: GraphState, h: Hierarchy) -> None:
    """Apply ``?node=<module path>`` once per value: open its ancestors, select it, bring it into view."""
    raw = st.query_params.get("node") if gs.url else None
    if raw is None or raw == gs.url_node:
        return
    gs.url_node = raw
    _pick(gs, h, raw)


def _pick(gs: GraphState, h: Hierarchy, node_id: str) -> None:
    """Show ``node_id`` (a link's or a page's), or keep it, cut short, for the one-sentence warning."""
    if node_id in h:
        gs.bad_node = None
        show(gs, h, node_id)
    else:
        gs.bad_node = node_id[:120]


def set_url_node(gs: GraphState, node_id: str | None) -> None:
    if not gs.url:
        return
    if node_id is None:
        st.query_params.pop("node", None)
    elif st.query_params.get("node") != node_id:
        st.query_params["node"] = node_id


def _event(value: Any) -> dict[str, Any] | None:
    """The last chart event in a component's value (an attribute or a key, by Streamlit version)."""
    if value is None:
        return None
    ev = value.get("chart_event") if hasattr(value, "get") else getattr(value, "chart_event", None)
    return ev if isinstance(ev, dict) else None


def on_click(key: str, chart_key: str, h: Hierarchy) -> None:
    """A click on a node: a closed group opens, a frame folds its group, anything else is selected."""
    gs: GraphState = st.session_state[f"{key}.state"]
    ev = _event(st.session_state.get(chart_key))
    if ev is None or not isinstance(ev.get("t"), int | float) or ev["t"] == gs.last_event:
        return
    gs.last_event = float(ev["t"])
    raw = str(ev.get("id") or "")
    if raw.startswith("frame:"):
        group = raw.removeprefix("frame:")
        gs.open -= {group, *(g for g in gs.open if group in h.ancestors(g))} if group in h else set()
        gs.focus, gs.fit = group, False
        gs.selected = group if group in h else gs.selected
        set_url_node(gs, gs.selected)
        return
    node_id = raw.removesuffix(".add") if raw not in h else raw
    if node_id not in h:
        return
    if h[node_id].kind in GROUP_KINDS:
        gs.open.add(node_id)
    gs.selected, gs.focus, gs.fit = node_id, node_id, False
    set_url_node(gs, node_id)


def search(gs: GraphState, h: Hierarchy, query: str, step: int) -> list[str]:
    """The matches of ``query``; a new query goes to the first, ``step`` moves to the next or previous."""
    matches = h.search(query)
    if query != gs.query:
        gs.query, gs.match = query, 0
        if matches:
            show(gs, h, matches[0])
            set_url_node(gs, matches[0])
    elif matches and step:
        gs.match = (gs.match + step) % len(matches)
        show(gs, h, matches[gs.match])
        set_url_node(gs, matches[gs.match])
    return matches


def marked(h: Hierarchy, open_: Iterable[str], matches: Iterable[str]) -> set[str]:
    """What to outline for the matches: each match where drawn, else the closed group that holds it. Matches are
    searched in the net; the plain twin beside it lacks some (shortcuts, adds)."""
    opened = frozenset(open_)
    return {visible_id(h, m, opened) for m in matches if m in h}
