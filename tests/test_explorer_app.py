"""The explorer, compare and home pages through Streamlit's AppTest, driven by widget key; the graph (the
ECharts options the page sends) and the tables are checked against torchvision's own shapes, parameter counts
and weight tables."""

from __future__ import annotations

import json
from typing import Any

import torchvision.models as tv
from streamlit.testing.v1 import AppTest

from resnet_viz.graph.echarts import all_items
from resnet_viz.units import human
from tests.conftest import ROOT, shown

APP = str(ROOT / "app.py")


def page(path: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120).run()
    at.switch_page(path).run()
    assert not at.exception
    return at


def charts(at: AppTest) -> list[dict[str, Any]]:
    """The options of every graph on the page, as the browser receives them."""
    return [json.loads(e.proto.json)["options"] for e in at.get("bidi_component")]


def nodes(options: dict[str, Any]) -> list[dict[str, Any]]:
    """The drawn nodes (boxes and adds), not frames, entry points, bends or edge labels."""
    data = all_items(options)[0]
    return [d for d in data if isinstance(d.get("symbolSize"), list) and not d["name"].startswith("frame:")]


def labels(options: dict[str, Any]) -> str:
    """Every label and hover text of one graph, one per line."""
    out = []
    for d in all_items(options)[0]:
        out.append(d.get("label", {}).get("formatter", ""))
        out.append(d.get("tooltip", {}).get("formatter", ""))
    out += [link.get("tooltip", {}).get("formatter", "") for link in all_items(options)[1]]
    return "\n".join(out)


def edge_tips(options: dict[str, Any]) -> list[str]:
    """One hover text per edge (each edge has one shape label)."""
    data = all_items(options)[0]
    return [d["tooltip"]["formatter"] for d in data if d["name"].endswith(".label")]


def test_home_draws_resnet50_at_stage_level() -> None:
    at = AppTest.from_file(APP, default_timeout=120).run()
    [graph] = charts(at)
    text = labels(graph)
    # torchvision's resnet50: 3, 4, 6, 3 bottlenecks; layer3 outputs 1024×14×14
    assert [n["name"] for n in nodes(graph)] == [
        "input",
        "stem",
        "layer1",
        "layer2",
        "layer3",
        "layer4",
        "head",
        "output",
    ]
    assert "6 × Bottleneck" in text and "1024×14×14" in text and "2048×7×7" in text


def test_explorer_graph_and_table_match_torchvision() -> None:
    at = page("pages/explorer.py")
    [graph] = charts(at)
    text = labels(graph)
    assert "layer3.1 … layer3.5  ×5" in text
    for shape in ("3×224×224", "64×56×56", "256×56×56", "512×28×28", "1024×14×14", "2048×7×7"):
        assert shape in text
    # one projection per stage (torchvision's downsample modules)
    assert sum("projection" in tip for tip in edge_tips(graph)) == 4
    table = at.dataframe[0].value
    assert len(table) == 174 and table["params"].sum() == tv.ResNet50_Weights.IMAGENET1K_V1.meta["num_params"]
    cells, helps = shown(at.dataframe[0])  # conv1: 64·112·112 · 3·7·7 MACs and 64·3·7·7 weights
    assert (cells["MACs"][0], cells["params"][0]) == ("118 M", "9.41 K") and "CSV and JSON exports" in helps["MACs"]
    assert [m.value for m in at.metric] == ["50", "25.56 M", "4.09 G", "427×427"]
    # side outputs: torchvision's stage strides 4, 4, 8, 16, 32
    side = at.dataframe[1].value
    assert side["stride"].tolist() == [4, 4, 8, 16, 32]

    at.button(key="explorer_graph.open_all").click().run()
    at.selectbox(key="explorer_stage").set_value("layer4").run()
    assert not at.exception
    [graph] = charts(at)
    convs = sum(1 for m in tv.resnet50().modules() if m.__class__.__name__ == "Conv2d")
    assert sum(1 for n in nodes(graph) if "· Conv2d" in n["label"]["formatter"]) == convs == 53
    layer4 = at.dataframe[0].value
    assert layer4["params"].sum() == sum(p.numel() for p in tv.resnet50().layer4.parameters())
    assert set(layer4["stage"]) == {"layer4"}
    # totals at the top of the table: 3 blocks × (3 conv + 3 BN + 3 ReLU + add) + the projection's conv and BN
    expected = sum(p.numel() for p in tv.resnet50().layer4.parameters())
    assert len(layer4) == 32
    assert any(m.value.startswith(f"**32** of 174 layers · params **{expected:,}** ·") for m in at.markdown)


def test_explorer_resnet1202_folds_opens_whole_and_twin_sits_beside_it() -> None:
    at = page("pages/explorer.py")
    at.selectbox(key="arch").set_value("resnet1202").run()
    [graph] = charts(at)
    text = labels(graph)
    assert "×200" in text and "×199" in text and "64×8×8" in text and "zero-pad" in text
    at.toggle(key="explorer_twin").set_value(True).run()
    assert not at.exception
    residual, plain = charts(at)
    assert "identity" in labels(residual) and "identity" not in labels(plain)
    assert "+" not in [n["label"]["formatter"] for n in nodes(plain)]
    at.button(key="explorer_graph.open_all").click().run()
    assert not at.exception
    residual, plain = charts(at)
    # 600 blocks × 7 ops (conv, BN, ReLU, conv, BN, add, ReLU) + stem 3 + two pads + head 2 + input, output
    assert len(nodes(residual)) == 600 * 7 + 3 + 2 + 2 + 2
    assert len(nodes(plain)) == 600 * 6 + 3 + 2 + 2  # no adds, no pads


def test_explorer_bad_input_is_one_sentence_in_place_of_the_graph() -> None:
    at = page("pages/explorer.py")
    at.radio(key="net_mode").set_value("custom").run()
    at.selectbox(key="family").set_value("cifar").run()
    at.number_input(key="depth").set_value(75).run()
    assert not at.exception and not charts(at)
    assert [e.value for e in at.error] == ["Depth 75 does not fit 6n+2; try 74 or 80."]
    at.number_input(key="depth").set_value(74).run()
    assert not at.error and "64×8×8" in labels(charts(at)[0])
    at.text_input(key="input_size").set_value("2").run()
    assert not at.exception and not charts(at) and len(at.error) == 1
    assert "smaller than the total stride 4" in at.error[0].value
    # groups that do not fit the width: 16 planes × 1/64 per group leaves no channel per group
    at.text_input(key="input_size").set_value("").run()
    at.radio(key="define_by").set_value("layers").run()
    at.text_input(key="layers").set_value("2,2").run()
    at.selectbox(key="block").set_value("bottleneck").run()
    at.number_input(key="width_per_group").set_value(1).run()
    assert not at.exception and not charts(at) and len(at.error) == 1


def test_explorer_speaks_chinese() -> None:
    at = page("pages/explorer.py")
    at.selectbox(key="lang").set_value("zh").run()
    assert not at.exception
    text = labels(charts(at)[0])
    assert "恒等映射" in text and "投影捷径" in text
    assert "感受野" in at.dataframe[0].value.columns


def test_compare_is_table_1_with_torchvision_totals() -> None:
    at = page("pages/compare.py")
    assert at.radio(key="compare_scenario").value == "depths"
    table = at.table[0].value
    names = ("resnet18", "resnet34", "resnet50", "resnet101", "resnet152")
    metas = [getattr(tv, f"ResNet{n[6:]}_Weights").IMAGENET1K_V1.meta for n in names]
    assert table.columns.tolist() == list(names)
    assert table.loc["params"].tolist() == [human(m["num_params"]) for m in metas]  # "11.7 M" … "60.2 M"
    assert table.loc["MACs"].tolist() == [f"{m['_ops']:.3g} G" for m in metas]  # torchvision's GFLOPs, 3 digits
    assert any("K, M, G, T: thousand, million" in c.value for c in at.caption)  # the units; exact numbers: exports
    assert [b.proto.label for b in at.get("download_button")] == ["Table as CSV", "Table as JSON"]
    assert table.loc["layer3 output"].tolist() == ["256×14×14"] * 2 + ["1024×14×14"] * 3
    assert '"x":[18,34,50,101,152]' in at.get("plotly_chart")[0].proto.spec

    at.radio(key="compare_scenario").set_value("shortcuts").run()
    at.checkbox(key="compare_only_diff").check().run()
    table = at.table[0].value
    # option A adds no parameters; B adds torchvision's three projections; C projects every block
    tv34 = tv.resnet34()
    proj = sum(p.numel() for n, m in tv34.named_modules() if n.endswith("downsample") for p in m.parameters())
    total = sum(p.numel() for p in tv34.parameters())
    a, b, c = table.loc["params"]
    assert (a, b) == (human(total - proj), human(total)) == ("21.6 M", "21.8 M") and c != b  # exact: test_graph
    assert "depth" not in table.index and "shortcuts" in table.index

    at.radio(key="compare_scenario").set_value("custom").run()
    at.multiselect(key="compare_nets").set_value(["resnet50"]).run()
    assert [i.value for i in at.info] == ["Pick at least two nets to compare."]
