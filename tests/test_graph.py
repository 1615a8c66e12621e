"""The graph, the comparison table, the exports and `python -m resnet_viz graph`, checked against torchvision
(shapes from its own forward pass, its parameter counts and weight tables) and hand counts."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import pytest
import torch
import torchvision.models as tv
from torch import nn

from resnet_viz.cli import main
from resnet_viz.errors import InputError
from resnet_viz.graph.draw import block_runs, build_graph, node_count, should_fold
from resnet_viz.graph.export import graph_bytes, table_csv, table_json
from resnet_viz.nets.compare import compare, compare_csv, compare_json, stage_recipe
from resnet_viz.nets.spec import preset
from resnet_viz.nets.trace import trace
from tests.conftest import require_tool

QUOTED = r'"(?:[^"\\]|\\.)*"'
EDGE = re.compile(rf"(n\d+) -> (n\d+) \[((?:[^\]\"]|{QUOTED})*)\]")
NODE = re.compile(rf"(n\d+) \[label=\"((?:[^\"\\]|\\.)*)\"((?:[^\]\"]|{QUOTED})*)\]")


def edges(dot: str) -> list[tuple[str, str, str]]:
    return EDGE.findall(dot)


def labels(dot: str) -> dict[str, tuple[str, str]]:
    return {nid: (label, rest) for nid, label, rest in NODE.findall(dot)}


def torchvision_shapes(name: str) -> dict[str, str]:
    """Output shape of every top-level child of torchvision's model, from its own forward pass on meta."""
    with torch.device("meta"):
        model = getattr(tv, name)()
    shapes: dict[str, str] = {}
    hooks = [
        m.register_forward_hook(lambda m, i, o, n=n: shapes.__setitem__(n, "×".join(map(str, o.shape[1:]))))
        for n, m in model.named_children()
    ]
    model(torch.empty(1, 3, 224, 224, device="meta"))
    for h in hooks:
        h.remove()
    return shapes


def test_every_edge_carries_torchvisions_shape_at_stage_level() -> None:
    dot = build_graph(trace("resnet50"), level="stage").source
    found = [re.search(r'label=" ([\d×]+) "', attrs) for _, _, attrs in edges(dot)]
    assert all(found), "an edge without a shape"
    shapes = torchvision_shapes("resnet50")
    expected = ["3×224×224", shapes["maxpool"], *(shapes[f"layer{i}"] for i in (1, 2, 3, 4)), shapes["fc"]]
    assert [m.group(1) for m in found if m] == expected
    assert expected[-2:] == ["2048×7×7", "1000"]


def test_block_level_draws_each_shortcut_as_its_own_edge() -> None:
    r = trace("resnet18")
    dot = build_graph(r, level="block").source
    attrs = [a for _, _, a in edges(dot)]
    # torchvision's resnet18: layer1 keeps its shape; layer2..4 open with a 1×1 conv + BN projection
    tv18 = tv.resnet18()
    projections = sum(1 for n, _ in tv18.named_modules() if n.endswith(".downsample"))
    assert projections == 3
    assert sum("projection\n1×1 conv + BN\n" in a for a in attrs) == projections
    assert sum('label=" identity\n' in a for a in attrs) == 8 - projections
    assert dot.count('label="+"') == 8
    # downsampling is marked: the stem and the three strided blocks
    assert dot.count("#ffe1c7") == 4
    assert "↓ downsample 56×56 → 28×28" in dot


def test_option_a_zero_pad_and_folding_keep_resnet1202_readable() -> None:
    r = trace("resnet1202")
    assert should_fold(r, "block") and node_count(r, "block", fold=False) == 1204
    runs = block_runs(r, fold=True)
    # He et al. 2015 §4.2: 3 stages of n = 200 blocks; each stage but the first opens with a strided block
    assert [x.count for x in runs] == [200, 1, 199, 1, 199]
    dot = build_graph(r, level="block").source
    assert "×200" in dot and "×199" in dot
    assert sum("zero-pad\n(option A)\n" in a for _, _, a in edges(dot)) == 2
    assert len(labels(dot)) == node_count(r, "block", fold=True) == 14
    assert all(shape in dot for shape in ("16×32×32", "32×16×16", "64×8×8"))


def test_plain_twin_is_drawn_the_same_way_without_shortcuts() -> None:
    res = build_graph(trace("resnet34"), level="block").source
    plain = build_graph(trace(preset("resnet34", plain=True)), level="block").source
    assert "identity" not in plain and "projection" not in plain and 'label="+"' not in plain
    blocks = re.compile(r'label="layer\d\.\d+')
    assert len(blocks.findall(plain)) == len(blocks.findall(res)) == 3 + 4 + 6 + 3


def test_layer_level_has_every_conv_of_torchvision() -> None:
    r = trace("resnet50")
    dot = build_graph(r, level="layer", fold=False).source
    convs = sum(1 for m in tv.resnet50().modules() if isinstance(m, nn.Conv2d))
    assert convs == 53
    assert sum(1 for label, _ in labels(dot).values() if "Conv2d" in label) == convs
    # v1 strides the first 1×1, v1.5 the 3×3 (torchvision): the downsampling mark moves with it
    v1 = build_graph(trace(preset("resnet50", variant="v1")), level="layer", fold=False).source
    assert "conv1 · Conv2d 1×1 /2\n↓" in v1 and "conv2 · Conv2d 3×3 /2\n↓" in dot


def test_preact_projection_reads_the_preactivated_input() -> None:
    dot = build_graph(trace("preact_resnet164"), level="layer").source
    nodes = labels(dot)
    relu1 = next(n for n, (label, _) in nodes.items() if label.startswith("relu1 ·"))
    proj = next(n for n, (label, _) in nodes.items() if label.startswith("downsample.0 ·"))
    assert (relu1, proj) in {(a, b) for a, b, _ in edges(dot)}


def test_chinese_labels() -> None:
    dot = build_graph(trace("resnet18"), level="block", lang="zh").source
    assert "恒等映射" in dot and "投影捷径" in dot and "下采样" in dot


def test_compare_is_table_1_computed() -> None:
    names = ("resnet18", "resnet34", "resnet50", "resnet101", "resnet152")
    table = compare([trace(n) for n in names], names)
    weights = [getattr(tv, f"ResNet{n[6:]}_Weights").IMAGENET1K_V1.meta for n in names]
    assert table.row("params").exact == tuple(w["num_params"] for w in weights)
    assert table.row("params").values == ("11.7 M", "21.8 M", "25.6 M", "44.5 M", "60.2 M")
    assert tuple(round(m / 1e9, 3) for m in table.row("MACs").exact) == tuple(w["_ops"] for w in weights)
    assert table.row("MACs").values == ("1.81 G", "3.66 G", "4.09 G", "7.8 G", "11.5 G")
    assert table.row("depth").values == ("18", "34", "50", "101", "152")
    # He et al. 2015, Table 1, conv3_x of the 50/101/152-layer nets ×4, ×4, ×8
    assert table.row("layer2").values[2:] == tuple(f"[1×1, 128 · 3×3, 128 /2 · 1×1, 512] ×{n}" for n in (4, 4, 8))
    assert not table.row("input").differs and table.row("layer4 output").differs


def test_compare_exports_carry_exact_counts() -> None:
    table = compare([trace("resnet18"), trace("resnet50")], ["resnet18", "resnet50"])
    rows = {r[0]: r[1:] for r in csv.reader(io.StringIO(compare_csv(table).decode()))}
    assert rows["row"] == ["resnet18", "resnet50"]
    assert rows["params"] == ["11689512", "25557032"]  # torchvision's num_params, where the page shows "11.7 M"
    assert rows["depth"] == ["18", "50"] and rows["layer4 output"] == ["512×7×7", "2048×7×7"]
    doc = json.loads(compare_json(table))
    found = {r["row"]: r["values"] for r in doc["rows"]}
    assert found["params"] == {"resnet18": 11_689_512, "resnet50": 25_557_032}
    assert found["MACs"]["resnet50"] == 4_089_184_256  # torchvision: 4.089 GFLOPs
    assert found["input"] == {"resnet18": "3×224×224", "resnet50": "3×224×224"}


def test_compare_v1_against_v1_5_differs_only_where_the_stride_moves() -> None:
    table = compare([trace(preset("resnet50", variant="v1")), trace("resnet50")], ["v1", "v1.5"])
    assert {r.label for r in table.rows if r.differs} == {"MACs", "receptive field", "layer2", "layer3", "layer4"}
    assert stage_recipe(trace(preset("resnet50", variant="v1")), "layer3") == "[1×1, 256 /2 · 3×3, 256 · 1×1, 1024] ×6"


def test_exports() -> None:
    require_tool("dot", "SVG and PNG export render with Graphviz's dot")
    r = trace("resnet50")
    g = build_graph(r, level="stage")
    svg = graph_bytes(g, "svg").decode()
    assert "<svg" in svg and "2048×7×7" in svg
    assert graph_bytes(g, "png")[:8] == b"\x89PNG\r\n\x1a\n"
    assert graph_bytes(g, "dot").decode() == g.source
    rows = list(csv.DictReader(io.StringIO(table_csv(r).decode())))
    assert len(rows) == len(r.layers)
    assert sum(int(x["params"]) for x in rows) == sum(p.numel() for p in tv.resnet50().parameters())
    doc = json.loads(table_json(r, stage="layer4"))
    assert doc["totals"]["params"] == 25_557_032
    assert doc["stages"][-1]["params"] == sum(p.numel() for p in tv.resnet50().layer4.parameters())  # 14,964,736
    assert sum(x["params"] for x in doc["layers"]) == sum(p.numel() for p in tv.resnet50().layer4.parameters())
    with pytest.raises(InputError, match="Format 'gif' is not one of dot, svg, png."):
        graph_bytes(g, "gif")
    with pytest.raises(InputError, match="Level 'cells' is not one of stage, block, layer."):
        build_graph(r, level="cells")  # type: ignore[arg-type]


def test_cli_graph(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    require_tool("dot", "SVG export renders with Graphviz's dot")
    out = tmp_path / "r56.svg"
    assert main(["graph", "--arch", "resnet56", "--level", "stage", "-o", str(out)]) == 0
    svg = out.read_text()
    assert svg.startswith("<?xml") and "64×8×8" in svg and "32×16×16" in svg
    assert capsys.readouterr().err.startswith(f"wrote {out}")
    for argv, message in (
        (["--level", "cells"], "error: Level 'cells' is not one of stage, block, layer.\n"),
        (["-o", str(tmp_path / "no" / "x.svg")], f"error: Cannot write {tmp_path / 'no' / 'x.svg'}: its folder"),
        (["-o", str(tmp_path)], f"error: Cannot write {tmp_path}: it is a folder.\n"),
        (["--format", "gif"], "error: Format 'gif' is not one of dot, svg, png.\n"),
    ):
        with pytest.raises(SystemExit) as e:
            main(["graph", "--arch", "resnet56", *argv])
        assert e.value.code == 2
        err = capsys.readouterr().err
        assert err.startswith(message) and err.count("\n") == 1


def test_the_static_graph_says_a_resnet_d_projection_pools_first() -> None:
    src = build_graph(trace("resnet50d"), level="block").source
    # layer1.0 does not stride (no pool); layer2-4.0 average-pool, then the 1×1 conv (He et al. 2019, ResNet-D)
    assert src.count("avg pool + 1×1 conv + BN") == 3
    assert src.count('label=" projection\n1×1 conv + BN\n 256×56×56 "') == 1  # layer1.0's edge
