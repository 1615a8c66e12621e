"""The comparison page: pick two or more nets, see one table side by side with differing rows highlighted,
and params and MACs against depth."""

from __future__ import annotations

import functools
from typing import Final

import streamlit as st

from ...errors import UserError
from ...graph.export import MIME
from ...nets.compare import CompareTable, compare, compare_csv, compare_json
from ...nets.spec import PRESETS, ResNetSpec, preset
from ...plots.compare import params_macs_figure
from ..core.cache import cached_trace
from ..core.sidebar import Selection, current
from ..core.text import lang, net_title, say_error, tr
from ..views.compare_table import table_frame
from ..views.graph_view import net_graph

__all__ = ["SCENARIOS", "render_compare", "scenario_nets", "table_frame"]

SCENARIOS: Final = ("depths", "variants", "shortcuts", "cifar", "plain", "custom")
_DIFF_STYLE: Final = "background-color: #fff3bf; font-weight: 600"


def scenario_nets(scenario: str, sel: Selection, picked: list[str]) -> list[tuple[str, ResNetSpec]]:
    """The (label, spec) pairs a scenario compares."""
    if scenario == "depths":  # He et al. 2015, Table 1
        return [(n, preset(n)) for n in ("resnet18", "resnet34", "resnet50", "resnet101", "resnet152")]
    if scenario == "variants":
        return [("resnet50 v1", preset("resnet50", variant="v1")), ("resnet50 v1.5", preset("resnet50"))]
    if scenario == "shortcuts":  # He et al. 2015, Table 3: options A, B, C on ResNet-34
        return [(f"resnet34 {o}", preset("resnet34", shortcut=o)) for o in ("A", "B", "C")]
    if scenario == "cifar":  # He et al. 2015, Table 6
        return [(n, preset(n)) for n in ("resnet20", "resnet32", "resnet44", "resnet56", "resnet110")]
    if scenario == "checkpoint":  # the uploaded net against the preset nearest to it
        if sel.checkpoint is None:
            return []
        inferred = sel.checkpoint.inferred
        mine = tr("compare.ckpt_label", name=inferred.source.name)
        return [(mine, inferred.spec), (inferred.nearest, preset(inferred.nearest))]
    if scenario == "plain":
        if sel.spec is None:
            return []
        pair = sorted((sel.spec, sel.spec.twin()), key=lambda s: s.plain)
        return [(net_title(s), s) for s in pair]
    return [(n, preset(n)) for n in picked]


def _exports(table: CompareTable) -> None:
    """The table as CSV and JSON, counts exact: the page shows them in human units."""
    writers = (("csv", compare_csv, ":material/table:"), ("json", compare_json, ":material/data_object:"))
    for col, (fmt, write, icon) in zip(st.columns(4), writers):
        col.download_button(
            tr(f"explorer.export_{fmt}"), data=functools.partial(write, table), file_name=f"compare.{fmt}",
            mime=MIME[fmt], key=f"compare_export_{fmt}", on_click="ignore", icon=icon,
        )  # fmt: skip


def render_compare() -> None:
    st.title(tr("compare.title"))
    st.caption(tr("compare.intro"))
    sel = current()
    scenarios = ("checkpoint", *SCENARIOS) if sel.checkpoint is not None else SCENARIOS
    if st.session_state.get("compare_scenario") not in scenarios:
        st.session_state.pop("compare_scenario", None)
    scenario = st.radio(
        tr("compare.scenario"), scenarios, key="compare_scenario", format_func=lambda v: tr(f"compare.scenario_{v}")
    )
    picked: list[str] = []
    if scenario == "custom":
        picked = st.multiselect(
            tr("compare.nets"),
            list(PRESETS),
            default=["resnet18", "resnet50"],
            key="compare_nets",
            help=tr("compare.nets_help"),
        )
    if scenario == "plain" and sel.error is not None:
        say_error(sel.error)
        return
    nets = scenario_nets(scenario, sel, picked)
    if len(nets) < 2:
        st.info(tr("compare.need_two"))
        return
    size = sel.input_size if sel.error is None else None
    try:
        reports = [cached_trace(spec, size) for _, spec in nets]
    except UserError as e:
        say_error(e)
        return
    table = compare(reports, [label for label, _ in nets], lang=lang())
    st.subheader(tr("compare.table_heading"))
    only_diff = st.checkbox(tr("compare.only_diff"), key="compare_only_diff")
    frame = table_frame(table, only_diff=only_diff)
    differs = {r.label for r in table.rows if r.differs}
    styled = frame.style.apply(lambda row: [_DIFF_STYLE if row.name in differs else ""] * len(row), axis=1)
    st.table(styled)  # a static table wraps the long stage recipes that a dataframe would cut off
    st.caption(f"{tr('units.legend')} {tr('units.exact_exports')}")
    _exports(table)
    st.subheader(tr("compare.graphs_heading"))
    st.caption(tr("compare.graphs_intro"))
    net_graph(nets[0][1], size, key=f"compare_graph_{scenario}", start="stage", details_panel=False, beside=nets)
    st.subheader(tr("compare.plot_heading"))
    st.plotly_chart(params_macs_figure(table.points, lang=lang()), width="stretch", key="compare_plot")
