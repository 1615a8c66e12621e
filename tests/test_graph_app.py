"""The explorer's interactive graph through AppTest, driven by widget key: search, `node=` links in both languages,
a bad link and a search with no match, open all / fold all and the twin. The chart is a custom component that
AppTest does not draw; its options (the JSON the browser gets) are read from the element and checked against the
tracer's records and torchvision's numbers."""

from __future__ import annotations

import json
from typing import Any

import pytest
import torch
import torchvision.models as tv
from streamlit.testing.v1 import AppTest

from resnet_viz.graph.echarts import MATCH, SELECTED, all_items
from resnet_viz.i18n import Lang, t
from resnet_viz.nets.spec import preset
from resnet_viz.nets.trace import trace
from tests.conftest import open_page

KEY = "explorer_graph"
NODE = "layer3.5.conv2"


def charts(at: AppTest) -> list[dict[str, Any]]:
    """The ECharts options of every graph on the page, in page order."""
    found = [e for e in at.main if getattr(e, "type", "") == "bidi_component"]
    return [json.loads(e.proto.json)["options"] for e in found if "echarts" in e.proto.component_name]


def items(opts: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {d["name"]: d for d in all_items(opts)[0]}


def drawn_layers(opts: dict[str, Any], names: set[str]) -> set[str]:
    return names & set(items(opts))


def details(at: AppTest, lang: Lang) -> tuple[str, dict[str, str]]:
    """The details panel: its heading and its one row (column -> text)."""
    heading = next(m.value for m in at.markdown if m.value.startswith(f"**{t('graph.details', lang)}**"))
    frame = next(d.value for d in at.dataframe if len(d.value) == 1)
    return heading, {str(k): str(v) for k, v in frame.iloc[0].items()}


@pytest.fixture(scope="module")
def conv_params() -> int:
    with torch.device("meta"):
        conv = tv.resnet50().layer3[5].conv2
    return sum(p.numel() for p in conv.parameters())


def check_selected(at: AppTest, lang: Lang, params: int) -> None:
    assert not at.exception and not at.warning
    heading, row = details(at, lang)
    assert heading == f"**{t('graph.details', lang)}** · `{NODE}` · Conv2d"
    assert row[t("explorer.col_params", lang)] == f"{params:,}" == "589,824"
    assert row[t("explorer.col_output", lang)] == "256×14×14"
    assert row[t("graph.col_padding", lang)] == "1×1"
    # the node is drawn (its ancestors opened) and outlined as selected
    [opts] = charts(at)
    assert items(opts)[NODE]["itemStyle"]["borderColor"] == SELECTED
    assert at.query_params["node"] == NODE


def test_search_selects_the_layer_and_no_match_is_one_sentence(conv_params: int) -> None:
    at = open_page("pages/explorer.py")
    [opts] = charts(at)
    assert NODE not in items(opts)  # the explorer opens at block level: layer3.5 is folded in layer3.1-5 ×5
    assert at.text_input(key=f"{KEY}.query").value == ""
    at.text_input(key=f"{KEY}.query").set_value(NODE).run()
    check_selected(at, "en", conv_params)
    assert t("graph.matches", "en", n=1, i=1, node=NODE) in [c.value for c in at.caption]
    at.text_input(key=f"{KEY}.query").set_value("conv9").run()
    assert not at.exception
    assert [i.value for i in at.info] == [t("graph.no_match", "en", query="conv9")]
    assert len(charts(at)) == 1  # the graph is still drawn
    # next / previous walk the matches of "downsample": 8 in ResNet-50, torchvision's 4 × (1×1 conv, BN)
    at.text_input(key=f"{KEY}.query").set_value("downsample").run()
    assert t("graph.matches", "en", n=8, i=1, node="layer1.0.downsample.0") in [c.value for c in at.caption]
    at.button(key=f"{KEY}.prev").click().run()
    assert t("graph.matches", "en", n=8, i=8, node="layer4.0.downsample.1") in [c.value for c in at.caption]
    assert at.query_params["node"] == "layer4.0.downsample.1" and not at.info
    assert "layer4.0.downsample.1" in items(charts(at)[0])


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_a_node_link_opens_and_selects_it(lang: Lang, conv_params: int) -> None:
    at = open_page("pages/explorer.py", node=NODE, lang=lang if lang != "en" else None)
    check_selected(at, lang, conv_params)


def test_a_bad_node_link_is_one_sentence_and_the_graph_is_drawn() -> None:
    at = open_page("pages/explorer.py", node="layer9.9")
    expected = [t("graph.bad_node", "en", node="layer9.9")]
    assert [w.value for w in at.warning] == expected
    [opts] = charts(at)
    assert {"layer1.0", "layer4.1-2", "head"} <= set(items(opts))
    at.button(key=f"{KEY}.fit").click().run()  # another run: still one sentence, no exception
    assert not at.exception and [w.value for w in at.warning] == expected


def test_open_all_and_fold_all_and_the_twin_opens_with_the_net() -> None:
    at = open_page("pages/explorer.py")
    layers = {x.name for x in trace("resnet50").layers}
    plain_layers = {x.name for x in trace(preset("resnet50", plain=True)).layers}
    assert len(layers) == 174 and len(plain_layers) == 174 - 8 - 16  # no projections (4 × 2), no adds (16)
    [opts] = charts(at)
    # at block level the only layers drawn are the adds of the single blocks (a closed block draws its add)
    assert drawn_layers(opts, layers) == {f"layer{i}.0.add" for i in (1, 2, 3, 4)}
    at.button(key=f"{KEY}.open_all").click().run()
    [opts] = charts(at)
    assert drawn_layers(opts, layers) == layers
    at.button(key=f"{KEY}.fold_all").click().run()
    [opts] = charts(at)
    drawn = [d["name"] for d in all_items(opts)[0] if "tooltip" in d and not d["name"].startswith("e")]
    assert drawn == ["input", "stem", "layer1", "layer2", "layer3", "layer4", "head", "output"]
    # the twin beside it shares what is open
    at.toggle(key="explorer_twin").set_value(True).run()
    assert not at.exception
    net, plain = charts(at)
    assert "layer3" in items(net) and "layer3" in items(plain)
    at.text_input(key=f"{KEY}.query").set_value(NODE).run()
    net, plain = charts(at)
    assert NODE in items(net) and NODE in items(plain)
    at.button(key=f"{KEY}.open_all").click().run()
    net, plain = charts(at)
    assert drawn_layers(net, layers) == layers and drawn_layers(plain, plain_layers) == plain_layers
    assert not {n for n in items(plain) if n.endswith(".add")}  # the plain twin has no shortcuts to join


def test_a_search_for_what_only_the_net_has_leaves_the_twin_drawn() -> None:
    at = open_page("pages/explorer.py")
    at.toggle(key="explorer_twin").set_value(True).run()
    for query, first in (("downsample", "layer1.0.downsample.0"), ("layer2.0.add", "layer2.0.add")):
        at.text_input(key=f"{KEY}.query").set_value(query).run()
        assert not at.exception
        net, plain = charts(at)
        assert items(net)[first]["itemStyle"]["borderColor"] == SELECTED  # selected in the net
        assert first not in items(plain)  # the plain twin has no shortcut and no add
        borders = {d.get("itemStyle", {}).get("borderColor") for d in all_items(plain)[0]}
        assert not borders & {SELECTED, MATCH}  # nothing outlined there


def _one_graph(node: str, url: bool) -> None:
    """A page with one graph of ResNet-18 opened at ``node`` (run by AppTest.from_function: imports inside)."""
    from resnet_viz.nets.spec import preset
    from resnet_viz.ui.views.graph_view import net_graph

    net_graph(preset("resnet18"), None, key="g", node=node, url=url, toolbar=False, details_panel=False)


def one_graph(node: str, *, url: bool = True, link: str | None = None) -> AppTest:
    """That page, with ``?node=<link>`` in its URL if given."""
    at = AppTest.from_function(_one_graph, default_timeout=120, kwargs={"node": node, "url": url})
    if link is not None:
        at.query_params["node"] = link
    return at.run()


def selected(opts: dict[str, Any]) -> list[str]:
    return [n for n, d in items(opts).items() if d.get("itemStyle", {}).get("borderColor") == SELECTED]


def test_a_graph_opened_at_a_node_selects_it_and_the_url_node_wins() -> None:
    at = one_graph("layer2.0.downsample.0")
    assert not at.exception and not at.warning
    [opts] = charts(at)
    # its ancestors open (layer2, layer2.0), the rest at block level; nothing written into the URL
    assert selected(opts) == ["layer2.0.downsample.0"] and "layer2.0.conv2" in items(opts)
    assert {"layer1.0-1", "layer2.1", "layer3.0"} <= set(items(opts)) and "layer1.0.conv1" not in items(opts)
    assert "node" not in at.query_params
    at.run()  # a rerun keeps it
    assert selected(charts(at)[0]) == ["layer2.0.downsample.0"]
    linked = one_graph("layer2.0.downsample.0", link="layer4.1.conv1")
    assert selected(charts(linked)[0]) == ["layer4.1.conv1"] and "layer2.0.conv2" in items(charts(linked)[0])
    # url=False: the URL's node= is neither read nor written
    off = one_graph("layer2.0.downsample.0", url=False, link="layer4.1.conv1")
    assert selected(charts(off)[0]) == ["layer2.0.downsample.0"] and "layer4.1.conv1" not in items(charts(off)[0])
    assert off.query_params["node"] == "layer4.1.conv1"


def test_a_graph_opened_at_an_unknown_node_is_one_sentence_and_drawn() -> None:
    at = one_graph("layer9.9", url=False)
    assert not at.exception
    assert [w.value for w in at.warning] == [t("graph.bad_node", "en", node="layer9.9")]
    [opts] = charts(at)
    assert selected(opts) == [] and {"stem", "layer1.0-1", "layer4.0", "head"} <= set(items(opts))
