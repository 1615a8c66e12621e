"""The guided tour through Streamlit's AppTest: every chapter in both languages, its live view, URL and presenter."""

from __future__ import annotations

import json
from typing import Any

import torch
from streamlit.testing.v1 import AppTest
from torchvision.models import DenseNet

from resnet_viz.i18n import t
from resnet_viz.lab.defaults import REFERENCE_DEPTHS
from resnet_viz.lab.reference import REFERENCE_FILE
from resnet_viz.lab.store import RunStore
from resnet_viz.tour.chapters import CHAPTERS
from resnet_viz.tour.facts import landscape_facts, lesion_facts, reference_curves, reference_insight
from tests.conftest import open_page


def tour(**params: str) -> AppTest:
    return open_page("pages/tour.py", **params)


def text(at: AppTest) -> str:
    return "\n".join(m.value for m in at.markdown)


def plotly(at: AppTest) -> list[dict[str, Any]]:
    return [json.loads(p.proto.spec) for p in at.get("plotly_chart")]


def bottleneck_macs(at: AppTest, lang: str = "en") -> int:
    """The sum of the MACs column of the bottleneck's layer table (the second table of the chapter)."""
    return int(at.dataframe[1].value[t("tour.col.macs", lang)].sum())  # type: ignore[arg-type]


def check_view(at: AppTest, key: str, lang: str) -> None:
    """Each chapter's live view is there, with the app's own numbers (checked against oracles in test_tour.py)."""
    body = text(at)
    if key == "degradation":
        lines = plotly(at)[0]["data"]
        titles = [tr["hovertemplate"].split("<br>")[0] for tr in lines]
        assert len(lines) == 8 and (titles[0].startswith("plain-") if lang == "en" else titles[0].startswith("普通-"))
        # He et al. 2015 Fig. 6's form: plain nets in the left panel, residual nets in the right, by depth
        assert [tr.get("xaxis", "x") for tr in lines] == ["x"] * 4 + ["x2"] * 4
        legend = [tr["name"] for tr in lines if tr["showlegend"]]
        assert legend == [f"{d} layers" if lang == "en" else f"{d} 层" for d in REFERENCE_DEPTHS]
        _, curves = reference_curves(RunStore(f"sqlite:///{REFERENCE_FILE}"))  # the shipped runs, copied in
        ordered = sorted(curves, key=lambda c: (not c.plain, c.depth))
        assert [len(tr["y"]) for tr in lines] == [len(c.loss) for c in ordered]
        assert "SGD steps of 32 images" in body or "每步 32 张图像" in body
    elif key == "block":
        assert len(at.dataframe) == 2 and len(at.get("graphviz_chart")) == 2
        assert bottleneck_macs(at, lang) == 218_365_952  # 56·56·(256·64 + 64·64·9 + 64·256)
        assert "16.9" in body and "218 M" in body
    elif key == "shortcuts":
        assert "174 K" in body and "1.09 M" in body  # B - A and C - A parameters of ResNet-34
        assert len(plotly(at)) == 1 and len(at.dataframe) == 1
    elif key == "gradients":
        lines = plotly(at)[0]["data"]
        assert [len(tr["y"]) for tr in lines] == [56, 56]  # every weighted layer of plain-56 and ResNet-56
    elif key in ("landscape", "ensembles"):
        found = reference_insight(
            RunStore(f"sqlite:///{REFERENCE_FILE}"), "landscape" if key == "landscape" else "lesion"
        )
        assert found is not None, "the shipped reference run carries its landscape and lesion records"
        if key == "landscape":
            f = landscape_facts(found[1])  # type: ignore[arg-type]
            quoted = [f"{f.residual.centre_loss:.3f}", f"{f.plain.centre_loss:.3f}", f"{f.plain.eig_ratio:.3g}"]
        else:
            g = lesion_facts(found[1])  # type: ignore[arg-type]
            quoted = [f"{g.residual.summary.baseline_error:.1%}", f"{g.plain.summary.mean_single:.1%}"]
        assert len(plotly(at)) == 2 and all(q in body for q in quoted), (quoted, body)
    elif key == "family":
        assert len(at.dataframe[0].value) == 5 and "4.09" in body and "3.86" in body
    elif key == "features":
        assert len(at.get("image")) == 8  # photo, Grad-CAM, five stage overlays, one montage
    elif key == "dense":
        assert "7,978,856" in body and "64 + 6·32 = 256" in body and "resnet34" in body
        assert len(at.get("graphviz_chart")) == 1
        bars = plotly(at)[0]["data"]
        assert [b["y"][0] for b in bars] == [64, 128, 256, 512]  # each dense block's input: halved by transitions


def walk(at: AppTest, lang: str) -> None:
    for i, chapter in enumerate(CHAPTERS):
        if i:
            at.button(key="tour_next_bottom").click().run()
        assert not at.exception, chapter.key
        assert at.query_params["chapter"] == chapter.key
        assert at.header[0].value == t("tour.chapter_option", lang, n=i + 1, title=t(f"tour.{chapter.key}.title", lang))  # type: ignore[arg-type]
        assert t(f"tour.{chapter.key}.q1", lang)[:8] in text(at)  # type: ignore[arg-type]
        check_view(at, chapter.key, lang)
    assert at.button(key="tour_next_top").disabled


def test_every_chapter_in_english_then_chinese() -> None:
    at = tour()
    assert at.button(key="tour_prev_top").disabled
    walk(at, "en")
    at.button(key="tour_lang").click().run()  # the teacher never needs the sidebar
    assert at.query_params["lang"] == "zh" and at.title[0].value == "导览：残差学习"
    at.selectbox(key="tour_chapter").set_value("degradation").run()
    walk(at, "zh")


def test_url_opens_a_chapter_in_presenter_mode() -> None:
    at = tour(chapter="dense", presenter="1", lang="zh")
    assert at.header[0].value.startswith(f"{len(CHAPTERS)}. 稠密连接")
    assert any("stSidebar" in m.value for m in at.markdown)  # the presenter style sheet is in the page
    at.toggle(key="tour_presenter").set_value(False).run()
    assert "presenter" not in at.query_params and not any("stSidebar" in m.value for m in at.markdown)
    at.button(key="tour_prev_top").click().run()
    assert at.query_params["chapter"] == "features"
    bad = tour(chapter="nonsense")
    assert bad.header[0].value.startswith("1. ")


def test_controls_change_the_numbers() -> None:
    at = tour(chapter="block")
    at.number_input(key="tour_block_size").set_value(448).run()
    assert bottleneck_macs(at) == 4 * 218_365_952
    at.selectbox(key="tour_chapter").set_value("dense").run()
    at.select_slider(key="tour_dense_k").set_value(12).run()
    with torch.device("meta"):
        k12 = sum(p.numel() for p in DenseNet(growth_rate=12).parameters())  # torchvision as the oracle
    assert f"With k = 12: {k12:,} parameters" in text(at)
    bars = plotly(at)[0]["data"]
    # by hand, k = 12: 64 + 6·12 = 136 -> 68; + 12·12 = 212 -> 106; + 24·12 = 394 -> 197; block 4's last layer
    # reads 197 + 15·12 = 377 channels
    assert [len(b["y"]) for b in bars] == [6, 12, 24, 16] and bars[-1]["y"][-1] == 377
    at.selectbox(key="tour_chapter").set_value("gradients").run()
    at.toggle(key="tour_grad_bn").set_value(False).run()
    assert not at.exception and len(plotly(at)[0]["data"]) == 2
