"""The guided tour through Streamlit's AppTest: every chapter in both languages, its live view, URL and presenter."""

from __future__ import annotations

import functools
import json
from typing import Any
from urllib.parse import parse_qs

import torch
from streamlit.testing.v1 import AppTest
from torchvision.models import DenseNet

from resnet_viz.graph.echarts import SELECTED, all_items
from resnet_viz.i18n import t
from resnet_viz.lab.defaults import REFERENCE_DEPTHS
from resnet_viz.lab.reference import REFERENCE_FILE
from resnet_viz.lab.store import RunStore
from resnet_viz.nets.spec import preset
from resnet_viz.tour.chapters import CHAPTERS
from resnet_viz.tour.facts import landscape_facts, lesion_facts, reference_curves, reference_insight
from resnet_viz.vision.activations import node_stats
from resnet_viz.vision.images import load_image, preprocess, resize_size
from resnet_viz.vision.samples import sample_bytes
from resnet_viz.vision.weights import load_model, twin_of
from tests.conftest import open_page


def tour(**params: str) -> AppTest:
    return open_page("pages/tour.py", **params)


def text(at: AppTest) -> str:
    return "\n".join(m.value for m in at.markdown)


def plotly(at: AppTest) -> list[dict[str, Any]]:
    return [json.loads(p.proto.spec) for p in at.get("plotly_chart")]


def chart_options(at: AppTest) -> list[dict[str, Any]]:
    """The ECharts options of every interactive graph of the chapter, in page order, as the browser gets them
    (read from the component's element as in test_graph_app.py)."""
    found = [e for e in at.main if getattr(e, "type", "") == "bidi_component"]
    return [json.loads(e.proto.json)["options"] for e in found if "echarts" in e.proto.component_name]


def graphs(at: AppTest) -> list[dict[str, dict[str, Any]]]:
    """Every interactive graph of the chapter, in page order: its drawn items by name."""
    return [{d["name"]: d for d in all_items(o)[0]} for o in chart_options(at)]


@functools.cache
def cat_block(block: str) -> tuple[tuple[float, float], tuple[float, float]]:
    """(share of zeros, std) of ``block``'s output for the cat in ResNet-18 and in its plain twin, computed here
    with the app's weights (ImageNet's where cached, else the seeded random ones) and its picture decoding."""
    model, _ = load_model(preset("resnet18"), "imagenet")
    img = load_image(sample_bytes("cat"), min_side=max(resize_size(224), 256))
    x = preprocess(img, size=224).tensor
    out = [node_stats(net, x)[block] for net in (model, twin_of(model))]
    return (out[0].dead or 0.0, out[0].std), (out[1].dead or 0.0, out[1].std)


def check_layers(at: AppTest, lang: str, body: str) -> None:
    """The cat on ResNet-18 and its twin: coloured by the share of zeros on one scale, layer3.1 selected with its
    grids and Grad-CAMs, the numbers the text quotes, and the explorer link with the picture's parameters."""
    net, twin = chart_options(at)
    title = t("picture.overlay_dead", lang)  # type: ignore[arg-type]
    assert net["title"]["text"] == twin["title"]["text"] == title
    assert (net["visualMap"]["min"], net["visualMap"]["max"]) == (twin["visualMap"]["min"], twin["visualMap"]["max"])
    assert (net["visualMap"]["min"], net["visualMap"]["max"]) == (0.0, 1.0)
    assert [selected(g) for g in graphs(at)] == [["layer3.1"], ["layer3.1"]]
    assert len(at.get("image")) == 5  # the picture, then each net's grid and Grad-CAM of layer3.1
    grids = [c.value for c in at.caption if "layer3.1" in c.value and "256" in c.value and "14×14" in c.value]
    assert len(grids) == 2, grids
    (net_dead, net_std), (twin_dead, twin_std) = cat_block("layer3.1")
    for quoted in (f"{100 * net_dead:.1f} %", f"{100 * twin_dead:.1f} %", f"{net_std:.3g}", f"{twin_std:.3g}"):
        assert quoted in body, (quoted, body)
    [link] = at.get("page_link")
    wanted = {"arch": "resnet18", "node": "layer3.1", "picture": "cat", "weights": "imagenet", "size": "224"}
    wanted |= {"stat": "dead"} | ({} if lang == "en" else {"lang": lang})
    assert link.proto.page == "architecture" and parse_qs(link.proto.query_string) == {
        k: [v] for k, v in wanted.items()
    }


def selected(items: dict[str, dict[str, Any]]) -> list[str]:
    """The items outlined in the graph's SELECTED colour."""
    return [n for n, d in items.items() if d.get("itemStyle", {}).get("borderColor") == SELECTED]


def check_graph(at: AppTest, lang: str, what: str, link: str) -> None:
    """The chapter's caption says what is selected (``what``, translated) and its link opens the explorer there."""
    assert t("tour.graph_caption", lang, what=what) in [c.value for c in at.caption]  # type: ignore[arg-type]
    suffix = "" if lang == "en" else f"&lang={lang}"
    assert any(m.value.endswith(f"]({link}{suffix})") for m in at.markdown), link


def details_row(at: AppTest, node: str, type_: str, lang: str) -> dict[str, str]:
    """The details panel of the selected ``node``: its heading is there; its one row, column -> text."""
    heading = f"**{t('graph.details', lang)}** · `{node}` · {type_}"  # type: ignore[arg-type]
    assert heading in [m.value for m in at.markdown]
    frame = next(d.value for d in at.dataframe if len(d.value) == 1)
    return {str(k): str(v) for k, v in frame.iloc[0].items()}


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
        assert len(at.dataframe) == 2 and not at.get("graphviz_chart")
        # the interactive graph of each demo, opened at its block: the basic block's add selected, the
        # bottleneck's last 1×1 convolution; each block's layers drawn (its stage and block opened)
        basic, bottleneck = graphs(at)
        assert selected(basic) == ["layer1.0.add"] and selected(bottleneck) == ["layer1.0.conv3"]
        assert {"layer1.0.conv1", "layer1.0.conv2", "layer1.0.add", "layer1.0.relu2"} <= set(basic)
        assert {"layer1.0.conv1", "layer1.0.conv2", "layer1.0.conv3", "layer1.0.add"} <= set(bottleneck)
        assert "layer1.0.conv3" not in basic and "layer1.0.downsample.0" not in bottleneck  # identity shortcuts
        what = t("tour.block.graph_basic", lang, node="layer1.0.add")  # type: ignore[arg-type]
        check_graph(at, lang, what, "architecture?arch=resnet18&node=layer1.0.add")
        what = t("tour.block.graph_bottleneck", lang, node="layer1.0.conv3", wide=256)  # type: ignore[arg-type]
        check_graph(at, lang, what, "architecture?arch=resnet50&node=layer1.1.conv3")
        assert bottleneck_macs(at, lang) == 218_365_952  # 56·56·(256·64 + 64·64·9 + 64·256)
        assert "16.9" in body and "218 M" in body
    elif key == "shortcuts":
        assert "174 K" in body and "1.09 M" in body  # B - A and C - A parameters of ResNet-34
        assert len(plotly(at)) == 1
        # ResNet-34 (option B) opened at layer2.0's projection: torchvision's layer2[0].downsample[0], 64 -> 128
        # channels, 1×1, stride 2
        [graph] = graphs(at)
        assert selected(graph) == ["layer2.0.downsample.0"] and "layer2.0.conv2" in graph
        row = details_row(at, "layer2.0.downsample.0", "Conv2d", lang)
        assert row[t("explorer.col_params", lang)] == "8,192" and row[t("explorer.col_output", lang)] == "128×28×28"  # type: ignore[arg-type]
        what = t("tour.shortcuts.graph", lang, node="layer2.0.downsample.0", block="layer2.0")  # type: ignore[arg-type]
        check_graph(at, lang, what, "architecture?arch=resnet34&node=layer2.0.downsample.0&shortcut=B")
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
            # the shipped ResNet-56 opened at the block whose deletion hurt most, selected in its folded run
            worst = g.residual.summary.worst_block
            assert worst is not None and [selected(graph) for graph in graphs(at)] == [[worst]]
            what = t("tour.ensembles.graph", lang, node=worst, error=f"{g.residual.summary.worst_single:.1%}")  # type: ignore[arg-type]
            check_graph(at, lang, what, f"architecture?arch=resnet56&node={worst}")
        assert len(plotly(at)) == 2 and all(q in body for q in quoted), (quoted, body)
    elif key == "family":
        assert len(at.dataframe[0].value) == 5 and "4.09" in body and "3.86" in body
        # ResNet-50 v1.5 beside v1, both at layer2.0.conv2: v1.5's 3×3 reads 56×56 and strides to 28×28
        v15, v1 = graphs(at)
        assert selected(v15) == selected(v1) == ["layer2.0.conv2"] and "layer2.0.conv1" in v1
        row = details_row(at, "layer2.0.conv2", "Conv2d", lang)
        assert row[t("explorer.col_output", lang)] == "128×28×28" and row[t("graph.col_stride", lang)] == "2×2"  # type: ignore[arg-type]
        what = t("tour.family.graph", lang, node="layer2.0.conv2", v1_node="layer2.0.conv1")  # type: ignore[arg-type]
        check_graph(at, lang, what, "architecture?arch=resnet50&node=layer2.0.conv2")
    elif key == "features":
        assert len(at.get("image")) == 8  # photo, Grad-CAM, five stage overlays, one montage
    elif key == "layers":
        check_layers(at, lang, body)
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
    assert at.query_params["chapter"] == "layers"
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


def test_the_tour_graphs_keep_off_the_url_node() -> None:
    # a node= in the tour's URL (one the bottleneck has, the basic block not) neither reselects a chapter's graph
    # nor warns; the tour's own parameters stay as they were
    at = tour(chapter="block", node="layer1.0.conv3")
    assert not at.warning
    assert [selected(g) for g in graphs(at)] == [["layer1.0.add"], ["layer1.0.conv3"]]
    at.number_input(key="tour_block_size").set_value(448).run()  # a rerun keeps the selection
    assert [selected(g) for g in graphs(at)] == [["layer1.0.add"], ["layer1.0.conv3"]]
    assert at.query_params["chapter"] == "block" and at.query_params["node"] == "layer1.0.conv3"


def test_the_layers_link_opens_the_explorer_on_the_same_net_picture_and_node() -> None:
    # the page link's parameters, arriving in a session whose sidebar holds another net (ResNet-50, the default)
    at = tour(chapter="layers")
    [link] = at.get("page_link")
    at.query_params.clear()
    at.query_params.update({k: v[0] for k, v in parse_qs(link.proto.query_string).items()})
    at.switch_page("pages/explorer.py").run()
    assert not at.exception and at.session_state["arch"] == "resnet18" and at.query_params["arch"] == "resnet18"
    assert [o["title"]["text"] for o in chart_options(at)] == [t("picture.overlay_dead", "en")] * 2
    assert [selected(g) for g in graphs(at)] == [["layer3.1"], ["layer3.1"]]
