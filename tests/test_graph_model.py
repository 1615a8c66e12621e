"""The interactive graph's model without a browser: the hierarchy, what a set of open groups draws, the stacked
layout, the DOT export and the overlays, checked against torchvision's own modules (built on the meta device)
and the tracer's records."""

from __future__ import annotations

import collections
import math
import re
import subprocess

import pytest
import torch
import torchvision.models as tv
from torch import nn

from resnet_viz.graph.dot import view_dot
from resnet_viz.graph.echarts import (
    HEIGHT_PX,
    MAX_HEIGHT_PX,
    SELECTED,
    Focus,
    all_items,
    chart_height,
    options,
    shows_all,
)
from resnet_viz.graph.layout import layout
from resnet_viz.graph.model import GROUP_KINDS, Hierarchy, hierarchy
from resnet_viz.graph.overlay import Overlay, shared_range, trace_overlay
from resnet_viz.graph.units import shape_text
from resnet_viz.graph.view import all_open, level_open, view, visible_id
from resnet_viz.nets.spec import preset
from resnet_viz.nets.trace import TraceReport, trace
from tests.conftest import require_tool

WEIGHTED = (nn.Conv2d, nn.BatchNorm2d, nn.Linear)
WINDOWED = (nn.Conv2d, nn.MaxPool2d)


def torchvision_net(name: str) -> nn.Module:
    """torchvision's own model, built on the meta device (no weights allocated)."""
    with torch.device("meta"):
        return getattr(tv, name)()


def pair(v: int | tuple[int, ...]) -> tuple[int, int]:
    return (v, v) if isinstance(v, int) else (v[0], v[1])


@pytest.fixture(scope="module")
def r50() -> tuple[TraceReport, Hierarchy]:
    report = trace("resnet50")
    return report, hierarchy(report)


@pytest.fixture(scope="module")
def tv50() -> dict[str, nn.Module]:
    return dict(torchvision_net("resnet50").named_modules())


def traced_layers(report: TraceReport, block: str) -> int:
    return sum(1 for x in report.layers if x.block == block)


@pytest.mark.parametrize("name", ["resnet18", "resnet50"])
def test_ids_are_torchvisions_module_names_with_its_numbers(name: str) -> None:
    h = hierarchy(trace(name))
    modules = dict(torchvision_net(name).named_modules())
    weighted = {n: m for n, m in modules.items() if isinstance(m, WEIGHTED)}
    ours = {n.id: n for n in h.layers() if n.type in ("Conv2d", "BatchNorm2d", "Linear")}
    assert set(ours) == set(weighted)
    assert len(ours) == {"resnet18": 20 + 20 + 1, "resnet50": 53 + 53 + 1}[name]  # convs, BNs, fc
    for n, m in weighted.items():
        assert ours[n].params == sum(p.numel() for p in m.parameters()), n
        assert type(m).__name__ == ours[n].type
    # every window (conv, max-pool) as torchvision sets it: kernel, stride and padding
    for n, m in modules.items():
        if isinstance(m, WINDOWED):
            node = h[n]
            assert (node.kernel, node.stride, node.padding) == (
                pair(m.kernel_size),  # type: ignore[arg-type]
                pair(m.stride),  # type: ignore[arg-type]
                pair(m.padding),  # type: ignore[arg-type]
            ), n
    # torchvision's blocks are our blocks, each under its stage
    blocks = [n for n, m in modules.items() if re.fullmatch(r"layer\d\.\d+", n)]
    assert blocks == [n.id for n in h.nodes.values() if n.kind == "block"]
    assert all(h[b].parent in (b.split(".")[0], *[r for r in h[b.split(".")[0]].children]) for b in blocks)
    assert h.total_params == sum(p.numel() for m in modules.values() for p in m.parameters(recurse=False))


def test_padding_is_torchvisions(r50: tuple[TraceReport, Hierarchy], tv50: dict[str, nn.Module]) -> None:
    _, h = r50
    assert h["layer1.0.conv2"].padding == (1, 1) == tv50["layer1.0.conv2"].padding
    assert h["conv1"].padding == (3, 3) == tv50["conv1"].padding
    assert h["layer1.0.conv1"].padding == (0, 0) == tv50["layer1.0.conv1"].padding


def test_search_finds_the_layer_and_its_record(r50: tuple[TraceReport, Hierarchy], tv50: dict[str, nn.Module]) -> None:
    _, h = r50
    assert h.search("layer3.5.conv2") == ["layer3.5.conv2"]
    assert h.search("  LAYER3.5.CONV2 ") == ["layer3.5.conv2"]
    n = h["layer3.5.conv2"]
    conv = tv50["layer3.5.conv2"]
    assert n.output_shape == (256, 14, 14)
    assert n.params == 589_824 == sum(p.numel() for p in conv.parameters()) == 256 * 256 * 3 * 3
    assert n.macs == 589_824 * 14 * 14  # one multiply-accumulate per weight per output pixel
    assert h.ancestors("layer3.5.conv2") == ["layer3", "layer3.1-5", "layer3.5"]
    # torchvision's leaf modules under a "downsample", in order: 1×1 conv and BN of each stage's first block
    assert h.search("downsample") == [k for k, m in tv50.items() if "downsample" in k and not list(m.children())]
    assert len(h.search("downsample")) == 8
    assert h.search("") == h.search("   ") == []
    assert h.search("no-such-layer") == []
    # a block and everything in it; runs ("layer3.1-5") are never a match
    assert h.search("layer3.5") == ["layer3.5", *h["layer3.5"].children]
    assert all(h[m].kind != "run" for m in h.search("layer"))


def test_levels_and_all_open(r50: tuple[TraceReport, Hierarchy]) -> None:
    report, h = r50
    assert level_open(h, "stage", fold=True) == frozenset()
    assert level_open(h, "block", fold=True) == {"layer1", "layer2", "layer3", "layer4"}
    stages = ("layer1", "layer2", "layer3", "layer4")
    runs = ("layer1.1-2", "layer2.1-3", "layer3.1-5", "layer4.1-2")  # torchvision's 3, 4, 6, 3 blocks
    assert [n.id for n in h.nodes.values() if n.kind == "run"] == list(runs)
    assert level_open(h, "block", fold=False) == {*stages, *runs}
    assert level_open(h, "layer", fold=False) == all_open(h) == frozenset(h.groups())
    assert all_open(h) - level_open(h, "layer", fold=True) == set(runs)
    # stages closed: input, stem, four stages, head, output
    assert view(h, ()).node_ids() == ["input", "stem", "layer1", "layer2", "layer3", "layer4", "head", "output"]
    # blocks, runs folded: each block or run with the add its shortcut joins
    ids = view(h, level_open(h, "block", fold=True)).node_ids()
    blocks = [x for s, r in zip(stages, runs) for x in (f"{s}.0", f"{s}.0.add", r, f"{r}.add")]
    assert ids == ["input", "stem", *blocks, "head", "output"]
    assert len(ids) == 2 + 2 + 4 * 4
    # all open: every traced layer exactly once, and nothing else
    drawn = view(h, all_open(h)).node_ids()
    assert len(drawn) == len(set(drawn)) == len(report.layers) + 2 == 174 + 2
    assert set(drawn) == {x.name for x in report.layers} | {"input", "output"}


def test_opening_adds_exactly_what_it_holds(r50: tuple[TraceReport, Hierarchy], tv50: dict[str, nn.Module]) -> None:
    report, h = r50
    # a stage opens into its first block and its folded run, each with its add
    assert view(h, {"layer3"}).node_count - view(h, ()).node_count == 4 - 1
    opened = set(level_open(h, "block", fold=True))
    before = view(h, opened).node_count
    # a closed block (and the add it draws) gives way to its traced layers
    assert traced_layers(report, "layer3.0") == 12  # 3 × (conv, BN, ReLU but the last) + projection (2) + add + ReLU
    convs_bns = sum(1 for k, m in tv50.items() if k.startswith("layer3.0.") and isinstance(m, WEIGHTED))
    assert convs_bns == 3 + 3 + 2  # torchvision's layer3[0]: conv1-3, bn1-3 and its downsample's conv and BN
    assert view(h, opened | {"layer3.0"}).node_count - before == traced_layers(report, "layer3.0") - 2
    # a folded run ×5 (node and add) gives way to its five blocks, each with its add
    with_run = view(h, opened | {"layer3.1-5"}).node_count
    assert with_run - before == 5 * 2 - 2
    # then one block of the run opens into its layers
    assert traced_layers(report, "layer3.5") == 10
    assert view(h, opened | {"layer3.1-5", "layer3.5"}).node_count - with_run == 10 - 2
    # a block whose run is closed is not drawn, so opening it alone changes nothing
    assert view(h, opened | {"layer3.5"}).node_ids() == view(h, opened).node_ids()
    # unknown names are ignored
    assert view(h, opened | {"layer9", "nonsense"}).open == frozenset(opened)


def test_visible_id_is_the_outermost_closed_ancestor(r50: tuple[TraceReport, Hierarchy]) -> None:
    _, h = r50
    blocks = level_open(h, "block", fold=True)
    assert visible_id(h, "layer3.5.conv2", frozenset()) == "layer3"
    assert visible_id(h, "layer3.5.conv2", blocks) == "layer3.1-5"
    assert visible_id(h, "layer3.5.conv2", blocks | {"layer3.1-5"}) == "layer3.5"
    assert visible_id(h, "layer3.5.conv2", blocks | {"layer3.1-5", "layer3.5"}) == "layer3.5.conv2"
    assert visible_id(h, "fc", frozenset()) == "head"
    for node_id in ("layer3.5.conv2", "layer1.0.downsample.1", "fc", "layer4.2"):
        opened = frozenset(h.ancestors(node_id))
        assert node_id in view(h, opened).node_ids()


def test_resnet1202_all_open_lays_out_every_layer_once() -> None:
    report = trace("resnet1202")
    h = hierarchy(report)
    # He et al. 2015 §4.2: 6n + 2 = 1202, n = 200 basic blocks per stage
    assert sum(1 for n in h.nodes.values() if n.kind == "block") == 600
    lay = layout(view(h, all_open(h)))
    drawn = collections.Counter(n.id for n in lay.nodes if n.node is not None)
    assert set(drawn) == {x.name for x in report.layers} | {"input", "output"}
    assert max(drawn.values()) == 1
    assert len(drawn) == len(report.layers) + 2
    ids = {n.id for n in lay.nodes}
    assert all(e.src in ids and e.dst in ids for e in lay.edges)
    # a shape on every edge between two layers: the first one's output (the head's flatten keeps its numbers)
    for e in lay.edges:
        if e.src in h and e.dst in h and h[e.src].kind == "layer":
            assert math.prod(e.edge.shape) == math.prod(h[e.src].output_shape), (e.src, e.dst)
            assert e.edge.shape in (h[e.src].output_shape, h[e.dst].input_shape), (e.src, e.dst)
    # a frame around every open group but the runs: stem, head, 3 stages, 600 blocks
    assert len(lay.clusters) == sum(1 for g in h.groups() if h[g].kind != "run") == 2 + 3 + 600
    # the segments are stacked: every node inside the layout's box
    assert all(n.x - n.w / 2 >= 0 and n.x + n.w / 2 <= lay.width + 1e-6 for n in lay.nodes)
    assert all(0 <= n.y <= lay.height for n in lay.nodes)


def test_the_browser_holds_only_the_items_near_the_view_and_the_rest_as_data() -> None:
    h = hierarchy(trace("resnet1202"))
    lay = layout(view(h, all_open(h)))
    whole = options(lay, h, focus=Focus(None, fit=True))  # everything on screen: all of it, labels too small
    assert "all" not in whole["rv"] and whole["series"][0]["label"]["show"] is False
    data, links = whole["series"][0]["data"], whole["series"][0]["links"]
    boxes = [d for d in data if isinstance(d.get("symbolSize"), list) and not d["name"].startswith("frame:")]
    assert len(boxes) == 600 * 7 + 3 + 2 + 2 + 2  # blocks' layers, stem, pads, head, input and output
    near = options(lay, h, focus=Focus(None))  # readable, at the top: the first blocks and the rest as data
    shown, shown_links = near["series"][0]["data"], near["series"][0]["links"]
    assert near["series"][0]["label"]["show"] is True and all_items(near) == (data, links)
    assert shown[:2] == data[:2] and [d["name"] for d in data[:2]] == ["corner0", "corner1"]  # they fix the scale
    x0, y0, x1, y1 = near["rv"]["win"]
    inside = {d["name"] for d in data if x0 <= d["x"] <= x1 and y0 <= d["y"] <= y1}
    names = {d["name"] for d in shown}
    assert inside <= names and {"conv1", "frame:stem", "layer1.0.conv1", "layer1.0.add"} <= names
    assert "layer3.199.conv2" not in names and "fc" not in names
    # every link that crosses the window is held with both its ends, and nothing else is
    at = {d["name"]: (d["x"], d["y"]) for d in data}

    def crosses(link: dict[str, str]) -> bool:
        (ax, ay), (bx, by) = at[link["source"]], at[link["target"]]
        return max(ax, bx) >= x0 and min(ax, bx) <= x1 and max(ay, by) >= y0 and min(ay, by) <= y1

    assert shown_links == [ln for ln in links if crosses(ln)]
    assert names == inside | {"corner0", "corner1"} | {n for ln in shown_links for n in (ln["source"], ln["target"])}
    assert len(shown) < len(data) / 50  # a few blocks of 600
    # the series' id names the options, so the browser can tell them from its own cuts
    assert near["series"][0]["id"] != whole["series"][0]["id"]
    assert near["series"][0]["id"] == options(lay, h, focus=Focus(None))["series"][0]["id"]


def test_view_dot_renders_one_node_per_drawn_node(r50: tuple[TraceReport, Hierarchy]) -> None:
    dot_bin = require_tool("dot", "graphviz renders the exports")
    _, h = r50
    v = view(h, level_open(h, "block", fold=True) | {"layer3.1-5", "layer3.5", "stem"})
    svg = subprocess.run([dot_bin, "-Tsvg"], input=view_dot(v), capture_output=True, text=True, check=True).stdout
    titles = re.findall(r'<g id="node\d+" class="node">\s*<title>([^<]*)</title>', svg)
    ports = [t for t in titles if t.startswith("__in")]
    drawn = [t.replace("&#45;", "-") for t in titles if not t.startswith("__in")]
    assert sorted(drawn) == sorted(v.node_ids()) and len(drawn) == v.node_count
    assert len(ports) == sum(1 for s in v.segments if s.entry_shape is not None)
    # a frame per open group but the runs, and the searched-for layer's shape on its edge
    frames = re.findall(r'<g id="clust\d+" class="cluster">\s*<title>cluster_([^<]*)</title>', svg)
    assert sorted(f.replace("&#45;", "-") for f in frames) == sorted(g for g in v.open if h[g].kind != "run" and g in h)
    assert ">256×14×14<" in svg.replace(" ", "")


def test_overlays_keep_the_numbers_they_are_given(
    r50: tuple[TraceReport, Hierarchy], tv50: dict[str, nn.Module]
) -> None:
    _, h = r50
    params = trace_overlay(h, "params", "params")
    assert params.values["layer3.5.conv2"] == 589_824 == sum(p.numel() for p in tv50["layer3.5.conv2"].parameters())
    assert all(params.values[n.id] == n.params for n in h.nodes.values() if n.kind not in ("input", "output"))
    assert params.values["layer3.1-5"] == sum(h[b].params for b in h["layer3.1-5"].children)
    outputs = trace_overlay(h, "output", "output")
    assert outputs.values["layer3.5.conv2"] == 256 * 14 * 14
    # numbers from elsewhere (a lab run's gradient norms) reach the chart exactly, not rounded
    grads = {"layer3.5.conv2": 0.012345678901234567, "layer1.0.conv1": 3.0000000000000004, "fc": 1e-7}
    ours = Overlay("grad_norm", "gradient norm", grads, "log")
    twin = Overlay("grad_norm", "gradient norm", {"layer1.0.conv1": 9.5, "fc": 2e-9}, "log")
    assert shared_range([ours, twin]) == (2e-9, 9.5)
    lo, hi = shared_range([ours, twin])
    opened = frozenset(h.ancestors("layer3.5.conv2")) | frozenset(h.ancestors("layer1.0.conv1")) | {"head"}
    lay = layout(view(h, opened))
    opts = options(lay, h, overlay=ours.with_range(lo, hi), scale=(lo, hi))
    items = {d["name"]: d for d in all_items(opts)[0]}
    for k, v in grads.items():
        assert items[k]["value"] == v  # the same float
    assert opts["visualMap"]["min"] == 2e-9 and opts["visualMap"]["max"] == 9.5
    # on the shared log scale the twin's largest is the top colour and its smallest the bottom one (viridis)
    assert twin.with_range(lo, hi).color("layer1.0.conv1") == "#fde725"
    assert twin.with_range(lo, hi).color("fc") == "#440154"
    assert items["layer3.4"].get("value") is None and "layer3.4" in items  # drawn, with no number


def test_chart_options_carry_shapes_and_records(r50: tuple[TraceReport, Hierarchy]) -> None:
    _, h = r50
    opened = level_open(h, "block", fold=True) | {"layer3.1-5", "layer3.5"}
    lay = layout(view(h, opened))
    opts = options(lay, h, selected="layer3.5.conv2")
    data = {d["name"]: d for d in all_items(opts)[0]}
    # every drawn node is one item named by its id, and a closed group's tooltip says it opens
    assert set(view(h, opened).node_ids()) <= set(data)
    tip = data["layer3.5.conv2"]["tooltip"]["formatter"]
    assert "589,824" in tip and "256×14×14 → 256×14×14" in tip and "<b>layer3.5.conv2</b>" in tip
    assert data["layer3.5.conv2"]["itemStyle"]["borderColor"] == SELECTED
    # every edge's shape label says the edge's shape, in its label and its tooltip
    labels = [d for name, d in data.items() if re.fullmatch(r"e\d+\.label", name)]
    for d in labels:
        k = int(d["name"][1:].split(".")[0])
        text = shape_text(lay.edges[k].edge.shape)
        assert d["label"]["formatter"] == text and text in d["tooltip"]["formatter"]
    assert len(labels) == sum(1 for e in lay.edges if e.label_at is not None and e.edge.shape)
    # every link joins two items of the series
    assert all(ln["source"] in data and ln["target"] in data for ln in all_items(opts)[1])
    # frames: one per open group but the runs
    frames = {n.removeprefix("frame:") for n in data if n.startswith("frame:") and "#" not in n}  # not corners
    assert frames == {g for g in opened if h[g].kind in GROUP_KINDS - {"run"}}


def test_a_resnet_d_projection_says_it_pools_first() -> None:
    # Bag of Tricks (He et al. 2019) ResNet-D: a strided projection average-pools, then its 1×1 conv (stride 1)
    h = hierarchy(trace(preset("resnet50d")))
    notes = [e.note for seg in view(h, level_open(h, "block", fold=True)).segments for e in seg.edges if e.note]
    projections = [n for n in notes if n.startswith("projection")]
    assert projections == ["projection\n1×1 conv + BN"] + ["projection\navg pool + 1×1 conv + BN"] * 3
    assert [h[c].type for c in h["layer2.0"].children if ".downsample." in c] == ["AvgPool2d", "Conv2d", "BatchNorm2d"]


def test_a_first_draw_shows_the_whole_graph_where_it_reads_else_says_there_is_more() -> None:
    """Home's ResNet-50 stages (801 points tall) get a chart of their own height and are drawn whole at a readable
    1 px a point, the head included (a 720 px chart zoomed them in and cut the head off); ResNet-50's blocks are
    not drawn whole (a readable zoom at the top, in a 720 px chart), and the page says there is more."""
    h = hierarchy(trace("resnet50"))
    stages = layout(view(h, level_open(h, "stage", fold=True)))
    assert HEIGHT_PX - 40 < stages.height <= MAX_HEIGHT_PX - 40
    assert chart_height(stages) == math.ceil(stages.height) + 40
    opts = options(stages, h, focus=Focus(None))
    series = opts["series"][0]
    assert series["zoom"] == 1.0 and "center" not in series  # all of it: the series is the layout fitted
    assert series["height"] == pytest.approx(stages.height, abs=1)
    assert series["top"] + series["height"] < chart_height(stages)
    assert {"stem", "head", "output"} <= {d["name"] for d in series["data"]} and "all" not in opts["rv"]
    assert shows_all(stages, Focus(None))
    blocks = layout(view(h, level_open(h, "block", fold=True)))
    assert chart_height(blocks) == HEIGHT_PX
    assert not shows_all(blocks, Focus(None)) and shows_all(blocks, Focus(None, fit=True))
    assert options(blocks, h, focus=Focus(None))["series"][0]["zoom"] > 1.0
