"""The app shell and Home, driven through Streamlit's AppTest by widget key."""

from __future__ import annotations

import torchvision.models as tv
from streamlit.testing.v1 import AppTest

from resnet_viz import preset, trace
from tests.conftest import ROOT, shown

APP = str(ROOT / "app.py")


def app() -> AppTest:
    return AppTest.from_file(APP, default_timeout=120)


def test_home_shows_resnet50_at_once() -> None:
    at = app().run()
    assert not at.exception
    assert [m.value for m in at.metric] == ["50", "25.56 M", "4.09 G", "427×427"]
    assert "resnet50 (depth 50), input 3×224×224" in at.subheader[0].value


def test_home_stage_table_speaks_in_units_with_exact_tooltips() -> None:
    at = app().run()
    table = at.dataframe[0].value  # the numbers themselves stay exact (they sort as numbers)
    tv50 = tv.resnet50()
    assert table["params"].tolist()[1:] == [
        sum(p.numel() for p in getattr(tv50, f"layer{i}").parameters()) for i in range(1, 5)
    ]
    cells, helps = shown(at.dataframe[0])
    assert cells["params"].tolist() == ["9.54 K", "216 K", "1.22 M", "7.1 M", "15 M"]  # stem: 64·3·7·7 + BN 128 = 9,536
    assert cells["MACs"].tolist() == ["118 M", "668 M", "1.03 G", "1.46 G", "809 M"]  # stem: 64·112·112·3·7·7
    assert helps["params"].endswith(
        "stem: 9,536  \nlayer1: 215,808  \nlayer2: 1,219,584  \nlayer3: 7,098,368  \nlayer4: 14,964,736"
    )
    assert "layer4: 809,238,528" in helps["MACs"]
    at.selectbox(key="lang").set_value("zh").run()
    cells, helps = shown(at.dataframe[0])
    assert cells["参数量"].tolist()[0] == "9.54 K" and "精确值：" in helps["参数量"]


def test_switching_preset_and_language() -> None:
    at = app().run()
    at.selectbox(key="arch").set_value("resnet56").run()
    assert [m.value for m in at.metric][:2] == ["56", "0.85 M"]
    assert at.query_params["arch"] == "resnet56"
    at.selectbox(key="lang").set_value("zh").run()
    assert not at.exception
    assert at.title[0].value == "ResNet 可视化"
    assert [m.label for m in at.metric][0] == "深度"


def test_custom_net_bad_depth_says_one_sentence() -> None:
    at = app().run()
    at.radio(key="net_mode").set_value("custom").run()
    at.selectbox(key="family").set_value("cifar").run()
    at.number_input(key="depth").set_value(75).run()
    assert not at.exception
    assert [e.value for e in at.error] == ["Depth 75 does not fit 6n+2; try 74 or 80."]
    at.number_input(key="depth").set_value(74).run()
    assert not at.error and at.metric[0].value == "74"


def test_url_opens_a_shared_choice() -> None:
    at = app()
    at.query_params.update({"arch": "resnet50", "variant": "v1", "input_size": "352"})
    at.run()
    assert not at.exception
    # the URL's variant reaches the net: v1 at 352 (checked against the tracer, itself tested against torchvision)
    v1 = trace(preset("resnet50", variant="v1"), input_size=352).totals.macs
    assert at.metric[2].value == f"{v1 / 1e9:.2f} G" != f"{trace('resnet50', input_size=352).totals.macs / 1e9:.2f} G"
    assert "3×352×352" in at.subheader[0].value


def test_bad_input_size_is_one_sentence() -> None:
    at = app().run()
    at.text_input(key="input_size").set_value("abc").run()
    assert not at.exception
    assert len(at.error) == 1 and "Input size" in at.error[0].value
