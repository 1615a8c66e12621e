"""A picture on the explorer's graph through Streamlit's AppTest: the activation overlays against statistics
computed here with forward hooks of the test's own, the selected node's grid and Grad-CAM, the URL's picture
parameters, the links both ways with the feature page, a finished lab run's own nets and a checkpoint's own
class names."""

from __future__ import annotations

import io
import math
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs

import pytest
import torch
import torchvision
from streamlit.testing.v1 import AppTest
from torch import nn

from resnet_viz.lab.insights.data import held_out
from resnet_viz.lab.store import RunStore
from resnet_viz.nets.spec import preset
from resnet_viz.vision.images import CROP_RATIO, IMAGENET_MEAN, IMAGENET_STD, load_image, preprocess, resize_size
from resnet_viz.vision.node_maps import node_activation
from resnet_viz.vision.samples import HELD_OUT_SHOWN, SAMPLES, held_out_samples, sample_bytes
from resnet_viz.vision.weights import load_model, twin_of
from tests.conftest import ROOT, open_page
from tests.test_checkpoint import randomized
from tests.test_explorer_app import charts, labels, nodes
from tests.test_features import SYNTHETIC_CLASSES, finished_pair, stored
from tests.test_features_app import by_hand, count

EXPLORER, FEATURES = "pages/explorer.py", "pages/features.py"
DEAD = "Share of zeros after the ReLU (dead units)"


@pytest.fixture(autouse=True)
def offline(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))  # an empty cache, and no download: random weights
    monkeypatch.setenv("RESNET_VIZ_OFFLINE", "1")


def cam_class(at: Any) -> Any:
    """The node panel's Grad-CAM class picker; its key ends in a digest of the class names it offers."""
    [box] = [b for b in at.selectbox if str(b.key).startswith("explorer_node.cam_class.")]
    return box


def cat_224() -> torch.Tensor:
    """The cat sample as the explorer feeds it at 224: decoded at 256 px or more, resized, centre-cropped,
    ImageNet's statistics (views/picture.py's preprocessing, written out here)."""
    img = load_image(sample_bytes("cat"), min_side=max(resize_size(224, crop_ratio=CROP_RATIO), 256))
    return preprocess(img, size=224, mean=IMAGENET_MEAN, std=IMAGENET_STD, crop_ratio=CROP_RATIO).tensor


def relu_outputs(model: nn.Module, x: torch.Tensor) -> list[tuple[str, torch.Tensor]]:
    """Every ReLU's output in the order they ran, by module path, from hooks of this test's own."""
    calls: list[tuple[str, torch.Tensor]] = []
    handles = []
    for name, m in model.named_modules():
        if isinstance(m, nn.ReLU):
            hook = lambda _m, _i, out, name=name: calls.append((name, out.detach().clone()))  # noqa: E731
            handles.append(m.register_forward_hook(hook))
    try:
        with torch.no_grad():
            model(x)
    finally:
        for h in handles:
            h.remove()
    return calls


def output_of(model: nn.Module, x: torch.Tensor, name: str) -> torch.Tensor:
    """The output of the module at ``name`` for ``x``, from a hook of this test's own."""
    out: list[torch.Tensor] = []
    handle = dict(model.named_modules())[name].register_forward_hook(lambda _m, _i, o: out.append(o.detach()))
    try:
        with torch.no_grad():
            model(x)
    finally:
        handle.remove()
    return out[0]


def dead_share(t: torch.Tensor) -> float:
    return int((t == 0).sum()) / t.numel()


def expected_dead(node: str, calls: list[tuple[str, torch.Tensor]]) -> float | None:
    """The share of exact zeros a graph node should show: a ReLU's own; a group's last ReLU inside it (a block's
    ReLU after the add, a stage's last block's, the stem's before the max-pool); a folded run ``layer1.0-1`` its
    last block's; nothing for the other layers, the adds, the head, input and output."""
    run = re.fullmatch(r"(layer\d+)\.(\d+)-(\d+)", node)
    if run:
        node = f"{run[1]}.{run[3]}"
    if node == "stem":
        first = next(i for i, (n, _) in enumerate(calls) if n.startswith("layer"))
        inside = calls[:first]
    else:
        inside = [(n, t) for n, t in calls if n == node or n.startswith(node + ".")]
    return dead_share(inside[-1][1]) if inside else None


def captions(at: AppTest) -> list[str]:
    return [c.value for c in at.caption]


def links(at: AppTest, label: str) -> list[tuple[str, dict[str, str]]]:
    """Each page link labelled ``label``: (its page, its query parameters)."""
    out = []
    for e in at.get("page_link"):
        if e.proto.label == label:
            qs = {k: v[0] for k, v in parse_qs(e.proto.query_string).items()}
            out.append((e.proto.page, qs))
    return out


def test_dead_share_on_both_nets_with_the_nodes_grid_and_grad_cam() -> None:
    at = open_page(EXPLORER, arch="resnet18", picture="cat", weights="random", node="layer3.1.conv2")
    assert not at.error
    net, twin = charts(at)
    model, _ = load_model(preset("resnet18"), "random")
    plain = twin_of(model)
    x = cat_224()
    for options, m in ((net, model), (twin, plain)):
        assert options["title"]["text"] == DEAD
        calls = relu_outputs(m, x)
        drawn = nodes(options)
        assert {"stem", "layer3.1.relu1", "layer3.1.relu2", "layer4.1"} <= {n["name"] for n in drawn}
        for n in drawn:
            dead = expected_dead(n["name"], calls)
            if n["name"].endswith(".add") or n["name"] in ("input", "output"):
                dead = None
            assert n.get("value") == dead, n["name"]
        # the hover line of a ReLU: its mean and population std over all its values, and its share of zeros
        relu2 = dict(calls)["layer3.1.relu2"].double()
        tip = next(n for n in drawn if n["name"] == "layer3.1.relu2")["tooltip"]["formatter"]
        line = f"This picture: mean {float(relu2.mean()):.3g} · std {float(relu2.std(unbiased=False)):.3g}"
        assert f"{line} · zeros after its ReLU: {dead_share(relu2):.1%}" in tip
        assert "This picture: mean " in labels(options)
    # one colour scale for both nets; a share of zeros runs from 0 to 1 on every picture
    assert (net["visualMap"]["min"], net["visualMap"]["max"]) == (twin["visualMap"]["min"], twin["visualMap"]["max"])
    assert (net["visualMap"]["min"], net["visualMap"]["max"]) == (0.0, 1.0)

    # the details: a grid and a Grad-CAM for each net, the grids' numbers as node_activation gives them
    assert count(at.main)["image"] == 1 + 4  # the picture's thumbnail, then the node's four
    for title, m in (("resnet18 (depth 18)", model), ("plain-resnet18 (depth 18)", plain)):
        rec = node_activation(m, x, node="layer3.1.conv2")
        grid = f"{title}: layer3.1.conv2's 16 strongest channels of 256 (14×14 each), range {rec.vmin:.3g} to "
        assert f"{grid}{rec.vmax:.3g}" in captions(at)
        conv2 = output_of(m, x, "layer3.1.conv2")
        assert (rec.vmin, rec.vmax) == (float(conv2.min()), float(conv2.max()))
        c64 = conv2.double()  # 256 × 14 × 14 values
        stats = f"Over all 50,176 values: mean {float(c64.mean()):.4g}, standard deviation {float(c64.std(False)):.4g}"
        assert stats in captions(at)
    cams = [c for c in captions(at) if ": Grad-CAM at layer3.1.conv2 for class " in c]
    assert len(cams) == 2 and cam_class(at).value is not None
    # the top 5 of the net's own logits, ImageNet's 1000 classes unnamed: random weights carry no names
    with torch.no_grad():
        p = torch.softmax(model(x)[0].double(), 0)
    top = torch.topk(p, 5)
    want = [f"{r + 1}. class {int(i)} ({float(v):.1%})" for r, (v, i) in enumerate(zip(top.values, top.indices))]
    assert cam_class(at).options == want


def test_stat_in_the_url_follows_the_overlay_and_the_toggle() -> None:
    at = open_page(EXPLORER, arch="resnet18", picture="cat", weights="random", stat="mean")
    assert at.selectbox(key="explorer_graph.overlay").value == "act_mean"
    net, twin = charts(at)
    assert net["title"]["text"] == twin["title"]["text"] != DEAD
    assert net["visualMap"]["min"] == twin["visualMap"]["min"] < 0 < net["visualMap"]["max"] == twin["visualMap"]["max"]
    for options in (net, twin):  # every drawn value inside the one scale
        for n in nodes(options):
            if n.get("value") is not None:
                assert options["visualMap"]["min"] <= n["value"] <= options["visualMap"]["max"]
    assert at.query_params["stat"] == "mean"

    at.selectbox(key="explorer_graph.overlay").set_value("params").run()
    assert not at.exception
    assert "stat" not in at.query_params and at.query_params["picture"] == "cat"
    assert all(c["title"]["text"] != DEAD for c in charts(at))

    at.toggle(key="explorer_picture").set_value(False).run()
    assert not at.exception
    assert not {"picture", "weights", "size", "stat"} & set(at.query_params)
    assert not any("This picture:" in labels(c) for c in charts(at))


OPTIONS = {
    "picture": ", ".join([*SAMPLES, "upload", f"held_out-0 … held_out-{HELD_OUT_SHOWN - 1}"]),
    "stat": "mean, std, dead",
    "weights": "imagenet, random, file, lab",
    "size": "32, 64, 96, 128, 160, 224, 288, 384, 448, 512",
}


@pytest.mark.parametrize(("param", "value"), [("picture", "dog"), ("stat", "foo"), ("weights", "xyz"), ("size", "33")])
def test_a_bad_param_is_one_sentence_and_the_page_keeps_working(param: str, value: str) -> None:
    params = {"arch": "resnet18", "picture": "cat", "weights": "random", param: value}
    at = open_page(EXPLORER, **params)
    said = f"The link's {param}={value} is not one of: {OPTIONS[param]}; the page keeps its own choice."
    assert [w.value for w in at.warning].count(said) == 1
    assert not at.error
    net, twin = charts(at)  # the page goes on with its own choice: the cat at 224, a share of zeros
    assert "3×224×224" in labels(net) and "This picture: mean " in labels(twin)
    assert at.selectbox(key="explorer_graph.overlay").value == "act_dead"


def test_links_both_ways_carry_the_picture() -> None:
    at = open_page(FEATURES, arch="resnet18", picture="cat", weights="random")
    assert not at.error
    shown = links(at, "Show on the graph")
    stages = ["stem", "layer1", "layer2", "layer3", "layer4"]
    want = [("architecture", {"node": s, "picture": "cat", "weights": "random", "size": "224"}) for s in stages]
    assert shown == want  # one per stage's grid (twin's grids are the same nodes: one link each)

    at = open_page(EXPLORER, arch="resnet18", picture="coffee", weights="random", size="96", node="layer2.0")
    assert not at.error
    assert links(at, "Open in Feature maps") == [
        ("feature-maps", {"picture": "coffee", "weights": "random", "size": "96"})
    ]
    assert "3×96×96" in labels(charts(at)[0])


def test_a_finished_lab_run_draws_its_own_nets_at_32(app_store: RunStore) -> None:
    rid = finished_pair(app_store)
    at = open_page(EXPLORER, arch="resnet50", picture="held_out-3", weights="lab", run=rid, node="layer3")
    assert not at.error
    assert at.selectbox(key="feat_run").value == rid
    net, twin = charts(at)
    for options in (net, twin):  # resnet8, not the sidebar's ResNet-50: 16, 32, 64 channels, 32 / 2 / 2
        assert "3×32×32" in labels(options) and "64×8×8" in labels(options) and "2048" not in labels(options)
        assert "layer4" not in {n["name"] for n in nodes(options)}
    assert any("resnet8 (depth 8)" in c and "32×32" in c for c in captions(at))
    # Grad-CAM's classes: the lab data's names, in the order of the stored residual net's own scores
    png = held_out_samples()[3][0]
    p = torch.softmax(by_hand("residual", stored(app_store, rid, "residual"), png).double(), 0)
    order = torch.argsort(-p, stable=True)[:5].tolist()
    want = [f"{r + 1}. {SYNTHETIC_CLASSES[i]} ({float(p[i]):.1%})" for r, i in enumerate(order)]
    assert cam_class(at).options == want
    _, ys = held_out(20)
    assert at.selectbox(key="feat_held_out").value == 3 and 0 <= int(ys[3]) < len(SYNTHETIC_CLASSES)
    grids = [c for c in captions(at) if "'s 16 strongest channels of 64 (8×8 each)" in c]
    assert [g.split(":")[0] for g in grids] == ["resnet8 (depth 8)", "plain-resnet8 (depth 8)"]


@pytest.fixture
def named_checkpoint() -> Iterator[tuple[bytes, bytes, nn.Module]]:
    torch.manual_seed(18)
    ref = randomized(torchvision.models.resnet18(num_classes=5)).eval()
    buf = io.BytesIO()
    torch.save(ref.state_dict(), buf)
    yield buf.getvalue(), b"tabby\nespresso\nsquare\ncircle\nnothing\n", ref


def test_a_checkpoint_with_its_own_class_names(named_checkpoint: tuple[bytes, bytes, nn.Module]) -> None:
    data, names, ref = named_checkpoint
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180)
    at.query_params.update({"net_mode": "checkpoint", "picture": "cat", "node": "layer4.1.conv2"})
    at.run()
    at.file_uploader(key="ckpt_file").set_value(("mine.pth", data, "application/octet-stream")).run()
    at.file_uploader(key="ckpt_names").set_value(("names.txt", names, "text/plain")).run()
    at.switch_page(EXPLORER).run()
    assert not at.exception and not at.error
    assert len(charts(at)) == 2
    x = cat_224()
    with torch.no_grad():
        p = torch.softmax(ref(x)[0].double(), 0)
    top = torch.topk(p, 5)
    own = names.decode().split()
    want = [f"{r + 1}. {own[int(i)]} ({float(v):.1%})" for r, (v, i) in enumerate(zip(top.values, top.indices))]
    assert cam_class(at).options == want
    assert math.isclose(sum(float(v) for v in p), 1.0)


def test_beyond_the_memory_ceiling_is_one_sentence_and_the_graph_stays(monkeypatch: pytest.MonkeyPatch) -> None:
    """The ceiling (RESNET_VIZ_ACTIVATION_MIB) between the statistics' streamed pass and Grad-CAM's kept one: the
    colours and the grid are there, Grad-CAM is one sentence; below the streamed pass, the picture is one sentence
    and the graph is drawn without it. Pictures and sizes no other test uses: a result already cached costs no
    memory, so it is shown whatever the ceiling."""
    from resnet_viz.errors import ResourceError
    from resnet_viz.vision.budget import footprint

    title = "resnet18 (depth 18)"
    fp = footprint(preset("resnet18"), (288, 288))
    assert fp.streamed < fp.kept
    mib = (fp.streamed + fp.kept) / 2 / 2**20
    monkeypatch.setenv("RESNET_VIZ_ACTIVATION_MIB", f"{mib:.3f}")
    at = open_page(EXPLORER, arch="resnet18", picture="shapes", weights="random", node="layer2.0.conv2", size="288")
    need, cap = f"{fp.kept / 2**20:.0f} MiB", f"{int(mib * 2**20) / 2**20:.0f} MiB"
    cam = ResourceError("activations_too_big", name=title, h=288, w=288, need=need, limit=cap)
    assert [e.value for e in at.error] == [cam.message("en")]
    net, twin = charts(at)
    assert "This picture: mean " in labels(net) and "This picture: mean " in labels(twin)
    assert any("layer2.0.conv2's 16 strongest channels" in c for c in [c.value for c in at.caption])

    fp = footprint(preset("resnet18"), (160, 160))
    low = fp.streamed / 2 / 2**20
    monkeypatch.setenv("RESNET_VIZ_ACTIVATION_MIB", f"{low:.3f}")
    at = open_page(EXPLORER, arch="resnet18", picture="coffee", weights="random", size="160")
    need, cap = f"{fp.streamed / 2**20:.0f} MiB", f"{int(low * 2**20) / 2**20:.0f} MiB"
    stats = ResourceError("activations_too_big", name=title, h=160, w=160, need=need, limit=cap)
    assert [e.value for e in at.error] == [stats.message("en")]
    drawn = charts(at)  # the graph is drawn (with the twin the picture's link asked for), without the picture
    assert drawn and all("This picture" not in labels(g) and "title" not in g for g in drawn)
