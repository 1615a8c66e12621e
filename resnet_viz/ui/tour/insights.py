"""Tour chapters 5 and 6: why residual nets train, read off the Insights records of the deepest reference run.

Every number in their text comes from the stored record (the loss landscape of Li et al. 2018, the lesion study
of Veit et al. 2016); the charts are the Insights page's own.
"""

from __future__ import annotations

import streamlit as st

from ...lab.defaults import DEFAULT
from ...lab.insights import Landscape, Lesions
from ...lab.insights.kinds import DEFAULTS, Kind
from ...lab.insights.record import Record
from ...lab.store import RunRecord
from ...nets.spec import PRESETS, preset
from ...plots import insights as plots
from ...tour.facts import LESION_K, landscape_facts, lesion_facts, reference_insight
from ..core import lab
from ..core.text import lang, tr
from .graph import tour_graph

__all__ = ["landscape_view", "lesion_view"]

Facts = dict[str, object]
_INSIGHTS_PAGE = "pages/why_residual.py"


def _pct(x: float | None) -> str:
    return "–" if x is None else f"{x:.1%}"


def _found(kind: Kind, chapter: str, facts: Facts) -> tuple[RunRecord, Record] | None:
    """The chapter's opening text, then the deepest reference run and its record; a sentence (and a link to
    compute it) when it is missing."""
    st.markdown(tr(f"tour.{chapter}.body", **facts))
    store = lab.store()
    found = reference_insight(store, kind) if store is not None else None
    if found is None:
        st.info(tr(f"tour.{chapter}.missing"), icon=":material/hourglass_top:")
        st.page_link(_INSIGHTS_PAGE, label=tr("tour.open_insights"), icon=":material/insights:")
    return found


def _link(run: RunRecord) -> None:
    st.page_link(
        _INSIGHTS_PAGE, label=tr("tour.open_insights"), icon=":material/insights:", query_params={"run": run.id}
    )


def landscape_view() -> Facts:
    """Li et al. 2018 on the reference run: both surfaces, the slice, and what the numbers say."""
    settings = DEFAULTS["landscape"]
    facts: Facts = {"depth": DEFAULT.spec.depth, "grid": settings["grid"], "images": settings["images"]}
    found = _found("landscape", "landscape", facts)
    if found is None:
        return facts
    run, record = found
    assert isinstance(record, Landscape)
    f = landscape_facts(record)
    facts = {
        "depth": run.config.spec.depth, "grid": f.grid, "images": f.images, "steps": run.config.steps,
        "res_centre": f"{f.residual.centre_loss:.3f}", "plain_centre": f"{f.plain.centre_loss:.3f}",
        "res_edge": f"{f.residual.edge_loss:.3f}", "plain_edge": f"{f.plain.edge_loss:.3f}",
        "res_ratio": f"{f.residual.eig_ratio:.3g}", "plain_ratio": f"{f.plain.eig_ratio:.3g}",
        "res_up": _pct(f.residual.upward_share), "plain_up": _pct(f.plain.upward_share),
    }  # fmt: skip
    L = lang()
    if record.betas:
        st.plotly_chart(plots.landscape_figure(record, L), key="tour_landscape_chart", width="stretch")
    st.plotly_chart(plots.slice_figure(record, L), key="tour_slice_chart", width="stretch")
    st.markdown(tr("tour.landscape.facts", **facts))
    st.markdown(tr(f"tour.landscape.verdict_{f.reading}", **facts))
    _link(run)
    return facts


def lesion_view() -> Facts:
    """Veit et al. 2016 on the reference run: single-block deletions, k random deletions, and their reading."""
    facts: Facts = {"depth": DEFAULT.spec.depth, "images": DEFAULTS["lesion"]["images"], "k": LESION_K}
    found = _found("lesion", "ensembles", facts)
    if found is None:
        return facts
    run, record = found
    assert isinstance(record, Lesions)
    f = lesion_facts(record)
    r, p = f.residual, f.plain
    facts = {
        "depth": run.config.spec.depth, "images": f.images, "k": LESION_K, "blocks": r.blocks,
        "res_base": _pct(r.summary.baseline_error), "plain_base": _pct(p.summary.baseline_error),
        "res_mean": _pct(r.summary.mean_single), "plain_mean": _pct(p.summary.mean_single),
        "res_worst": _pct(r.summary.worst_single), "res_block": r.summary.worst_block or "–",
        "plain_worst": _pct(p.summary.worst_single), "plain_block": p.summary.worst_block or "–",
        "plain_skippable": p.skippable, "res_k": _pct(r.error_k), "plain_k": _pct(p.error_k),
    }  # fmt: skip
    L = lang()
    st.plotly_chart(plots.lesion_figure(record, L), key="tour_lesion_chart", width="stretch")
    st.plotly_chart(plots.lesion_k_figure(record, L), key="tour_lesion_k_chart", width="stretch")
    if r.summary.worst_block is not None:  # the residual net opened at the block whose deletion hurt most
        spec = run.config.spec
        arch = spec.name if spec.name in PRESETS and preset(spec.name) == spec else None
        what = tr("tour.ensembles.graph", node=r.summary.worst_block, error=facts["res_worst"])
        tour_graph("ensembles", spec, None, r.summary.worst_block, what, arch=arch)
    st.markdown(tr("tour.ensembles.facts", **facts))
    st.markdown(tr(f"tour.ensembles.{'verdict_paper' if f.shows_paper else 'verdict_other'}", **facts))
    _link(run)
    return facts
