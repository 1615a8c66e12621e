"""The tour's chapters and the numbers its text quotes, against torchvision, the papers and hand computations."""

from __future__ import annotations

import dataclasses
import string
from pathlib import Path
from typing import Any

import torch
import torchvision

from resnet_viz import cifar_spec, trace
from resnet_viz.i18n import LANGS, strings
from resnet_viz.lab.config import NetName
from resnet_viz.lab.defaults import DEFAULT
from resnet_viz.lab.history import SweepCurve
from resnet_viz.lab.insights.evaluate import Score
from resnet_viz.lab.insights.kinds import normalize, settings_key
from resnet_viz.lab.insights.landscape import Landscape, Surface
from resnet_viz.lab.insights.lesion import BlockLesion, KLesion, Lesions, NetLesions
from resnet_viz.lab.store import MetricRow, RunStore
from resnet_viz.nets.spec import preset
from resnet_viz.tour.chapters import CHAPTERS, chapter_index
from resnet_viz.tour.facts import (
    LESION_K,
    block_facts,
    family_rows,
    landscape_facts,
    lesion_facts,
    reference_curves,
    reference_insight,
    shortcut_rows,
    smoothed,
    sweep_ends,
    v1_vs_v15,
)
from resnet_viz.tour.layer_facts import layer_facts
from resnet_viz.vision.activations import node_stats
from resnet_viz.vision.images import load_image, preprocess, resize_size
from resnet_viz.vision.samples import sample_bytes
from resnet_viz.vision.weights import load_model, twin_of


def test_chapters_are_those_of_the_issues_and_have_their_text() -> None:
    assert [c.key for c in CHAPTERS] == [
        "degradation",
        "block",
        "shortcuts",
        "gradients",
        "landscape",
        "ensembles",
        "family",
        "features",
        "layers",
        "dense",
    ]
    assert len({c.view for c in CHAPTERS}) == 10
    for lang in LANGS:
        text = strings(lang)
        for c in CHAPTERS:
            assert 1 <= c.questions <= 2
            for part in ("title", "body", *(f"q{i}" for i in range(1, c.questions + 1))):
                assert text[f"tour.{c.key}.{part}"].strip(), (lang, c.key, part)
            assert f"tour.{c.key}.q{c.questions + 1}" not in text


def test_no_number_is_typed_into_the_chapter_text() -> None:
    # Numbers a student reads come from placeholders; only names, citations and coordinates
    # (ResNet-56, 2015, 1×1, §3.3, α = 0) are literal.
    allowed = {"0", "1", "2", "3", "4", "5", "6", "7", "18", "34", "50", "101", "121", "152"}
    allowed |= {"10", "2015", "2016", "2017", "2018"}  # CIFAR-10, the papers' years
    for lang in LANGS:
        for key, template in strings(lang).items():
            if not key.startswith("tour.") or ".col." in key:
                continue
            literal = "".join(part for part, *_ in string.Formatter().parse(template))
            numbers = {n for n in __import__("re").findall(r"\d+", literal)}
            assert numbers <= allowed, (lang, key, numbers - allowed)


def test_chapter_index_falls_back_to_the_first() -> None:
    assert chapter_index("dense") == 9
    assert chapter_index(None) == chapter_index("no-such-chapter") == 0


def test_block_facts_by_hand() -> None:
    f = block_facts()
    # bottleneck at 56x56: 1x1 256->64, 3x3 64->64, 1x1 64->256; the basic block twice 3x3 at the same width
    assert f.bottleneck.macs == 56 * 56 * (256 * 64 + 64 * 64 * 9 + 64 * 256) == 218_365_952
    assert f.wide_basic.macs == 56 * 56 * 2 * 256 * 256 * 9 == 3_699_376_128
    assert f.basic.macs == 56 * 56 * 2 * 64 * 64 * 9
    assert f.bottleneck_inner == 64 and round(f.saving, 2) == 16.94
    # the same block as ResNet-50's layer1.1 and ResNet-34's layer1.1, as the tracer sees them there
    assert f.bottleneck.macs == next(b.macs for b in trace("resnet50").blocks if b.name == "layer1.1")
    assert f.basic.params == next(b.params for b in trace("resnet34").blocks if b.name == "layer1.1")
    big = block_facts(input_size=448)
    assert big.bottleneck.macs == 4 * f.bottleneck.macs and big.bottleneck.params == f.bottleneck.params == 70_400


def test_shortcut_options_on_resnet34_by_hand() -> None:
    a, b, c = shortcut_rows("resnet34")
    with torch.device("meta"):
        assert b.params == sum(p.numel() for p in torchvision.models.resnet34().parameters())
    # B: three 1x1 projections (+BN) where the width doubles: 64->128, 128->256, 256->512
    proj = sum(i * o + 2 * o for i, o in ((64, 128), (128, 256), (256, 512)))
    assert b.params - a.params == b.shortcut_params == proj == 173_824 and a.shortcut_params == 0
    # C: also a projection on each of the 13 blocks whose shape does not change (3, 3, 5 and 2 per stage)
    extra = sum(n * (w * w + 2 * w) for n, w in ((3, 64), (3, 128), (5, 256), (2, 512)))
    assert c.params - b.params == extra and (a.projections, b.projections, c.projections) == (0, 3, 16)


def test_family_is_table1_and_torchvision() -> None:
    rows = family_rows()
    assert [(r.name, r.depth) for r in rows] == [(f"resnet{d}", d) for d in (18, 34, 50, 101, 152)]
    for r in rows:
        with torch.device("meta"):
            assert r.params == sum(p.numel() for p in getattr(torchvision.models, r.name)().parameters())
    # torchvision's weight tables (GMACs of one 224x224 image)
    assert [round(r.macs / 1e9, 3) for r in rows] == [1.814, 3.664, 4.089, 7.801, 11.514]
    v1, v15 = v1_vs_v15(rows)
    # v1 strides the first 1x1 of layer2..4's first block: each such 1x1 runs at a quarter of the positions
    assert v15 - v1 == 3 * (102_760_448 - 102_760_448 // 4) and v1 == 3_857_973_248
    assert [r.paper_gflops for r in rows] == [1.8, 3.6, 3.8, 7.6, 11.3]


def _reference_store(tmp_path: Path) -> RunStore:
    """A store holding reference runs at two depths, their losses written by hand."""
    store = RunStore(f"sqlite:///{tmp_path / 'ref.sqlite'}")
    for depth, plain_end in ((20, 1.0), (56, 2.0)):
        config = dataclasses.replace(DEFAULT, spec=cifar_spec(depth), steps=30)
        rid, _ = store.create(config, origin="reference")
        nets: tuple[tuple[NetName, float], ...] = (("residual", 0.5), ("plain", plain_end))
        for net, end in nets:
            rows = [MetricRow(s, 2.3 if s <= 10 else end, 0.1, (1.0,)) for s in range(1, 31)]
            store.append(rid, net, rows, rate=1.0)
            store.mark_net_done(rid, net)
    store.create(dataclasses.replace(DEFAULT, seed=5), origin="web")  # not a reference run: left out
    return store


def test_reference_curves_come_from_the_store(tmp_path: Path) -> None:
    config, curves = reference_curves(_reference_store(tmp_path))
    assert config is not None and config.spec.depth == 56 and config.steps == 30
    assert [(c.depth, c.plain) for c in curves] == [(20, True), (20, False), (56, True), (56, False)]
    assert all(len(c.loss) == 30 for c in curves) and curves[2].loss[-1] == 2.0
    ends = {(e.depth, e.plain): e.final_loss for e in sweep_ends(curves)}
    assert ends == {(20, True): 1.0, (20, False): 0.5, (56, True): 2.0, (56, False): 0.5}
    assert reference_curves(RunStore(f"sqlite:///{tmp_path / 'empty.sqlite'}")) == (None, ())


def test_sweep_ends_and_smoothing() -> None:
    curves = (SweepCurve(20, True, "a", tuple([9.0] * 10 + [1.0, 2.0, 3.0])),)
    assert sweep_ends(curves, window=3)[0].final_loss == 2.0
    assert smoothed((1.0, 3.0, 5.0, 7.0), window=2) == (1.0, 2.0, 4.0, 6.0)  # trailing mean, by hand


def _surface(net: str, centre: float, ends: tuple[float, float], ratio: float, up: float) -> Surface:
    return Surface(net, centre, 0.5, (ends[0], centre + 0.1, centre, centre + 0.2, ends[1]), (), 2.0, -2.0 * ratio,
                   ratio, up)  # fmt: skip


LANDSCAPE = Landscape(
    alphas=(-1.0, -0.5, 0.0, 0.5, 1.0), betas=(), images=8, seed=0,
    nets=(_surface("residual", 0.25, (1.0, 2.0), 0.01, 0.9), _surface("plain", 1.0, (3.0, 5.0), 0.2, 0.4)),
)  # fmt: skip


def test_landscape_facts_read_the_record() -> None:
    f = landscape_facts(LANDSCAPE)
    assert (f.grid, f.images) == (5, 8)
    # the slice's ends averaged, by hand: (1 + 2) / 2 and (3 + 5) / 2
    assert (f.residual.edge_loss, f.plain.edge_loss) == (1.5, 4.0) and (f.residual.rise, f.plain.rise) == (1.25, 3.0)
    assert f.reading == "paper"  # 0.01 < 0.2 and 90% > 40%
    res, plain = LANDSCAPE.nets

    def reading(**change: Any) -> str:
        return landscape_facts(dataclasses.replace(LANDSCAPE, nets=(dataclasses.replace(res, **change), plain))).reading

    assert reading(upward_share=0.3) == "mixed" and reading(eig_ratio=0.5) == "mixed"
    assert reading(upward_share=0.3, eig_ratio=0.5) == "against"


def _blocks(errors: list[float | None]) -> tuple[BlockLesion, ...]:
    return tuple(
        BlockLesion(
            i + 1, f"layer1.{i}", e is None, e is not None, None if e is None else 1.0 - e, None if e is None else 1.0
        )
        for i, e in enumerate(errors)
    )


def test_lesion_facts_read_the_record() -> None:
    ks = tuple(KLesion(k, 0.1 * k, 0.0, 3) for k in range(1, LESION_K + 1))
    record = Lesions(8, 0, (
        NetLesions("residual", Score(0.5, 0.75), _blocks([0.25, 0.5, 0.25, 0.25]), ks),
        NetLesions("plain", Score(0.6, 0.875), _blocks([0.75, None, 0.25, 0.5]), ks[:2]),
    ))  # fmt: skip
    f = lesion_facts(record)
    r, p = f.residual, f.plain
    assert (r.summary.baseline_error, p.summary.baseline_error) == (0.25, 0.125)
    assert r.summary.mean_single == 0.3125 and p.summary.mean_single == 0.5  # (0.25+0.5+0.25+0.25)/4, (0.75+0.25+0.5)/3
    assert (r.summary.worst_single, r.summary.worst_block, p.summary.worst_block) == (0.5, "layer1.1", "layer1.0")
    assert (r.blocks, r.skippable, p.skippable) == (4, 4, 3)
    assert r.error_k == 0.1 * LESION_K and p.error_k is None  # the plain net was not deleted LESION_K times
    assert f.shows_paper


def test_reference_insight_is_the_deepest_reference_runs_stored_record(tmp_path: Path) -> None:
    store = _reference_store(tmp_path)
    assert reference_insight(store, "landscape") is None  # the runs are there, the record is not
    deep = max((r for r in store.runs() if r.reference), key=lambda r: r.config.spec.depth)
    key = settings_key("landscape", normalize("landscape", {}, deep.config))  # the page's default settings
    store.put_result(deep.id, "landscape", key, LANDSCAPE.to_json())
    found = reference_insight(store, "landscape")
    assert found is not None and found[0].id == deep.id and found[1] == LANDSCAPE
    assert reference_insight(store, "lesion") is None


def _block_out(model: torch.nn.Module, x: torch.Tensor, block: str) -> torch.Tensor:
    """The output of ``block`` (``layer3.1``) for ``x``, kept by a hook of the test's own."""
    stage, index = block.split(".")
    kept: list[torch.Tensor] = []
    handle = getattr(model, stage)[int(index)].register_forward_hook(lambda _m, _i, out: kept.append(out))
    try:
        with torch.no_grad():
            model(x)
    finally:
        handle.remove()
    return kept[0][0]


def test_layer_facts_are_the_cat_through_resnet18_and_its_twin() -> None:
    model, _ = load_model(preset("resnet18"), "imagenet")  # ImageNet's where cached, seeded random weights else
    twin = twin_of(model)
    img = load_image(sample_bytes("cat"), min_side=max(resize_size(224), 256))  # as the picture view decodes it
    x = preprocess(img, size=224).tensor
    f = layer_facts(node_stats(model, x), node_stats(twin, x), trace("resnet18", input_size=224), "layer3.1")
    # strides and receptive fields by hand: 7×7 stride 2 then 3×3 max-pool stride 2 is 7 + 2·2 = 11 at stride 4;
    # layer4 ends at stride 32
    assert (f.size, f.stem.shape, f.stem.stride, f.stem.rf) == (224, (64, 56, 56), 4, 11)
    assert (f.first.node, f.first.shape, f.first.stride) == ("layer1.0", (64, 56, 56), 4)
    assert (f.node.shape, f.node.stride) == ((256, 14, 14), 16) and (f.last.shape, f.last.stride) == ((512, 7, 7), 32)
    assert f.last.rf > 224 > f.node.rf > f.first.rf > f.stem.rf
    # ResNet-18: eight blocks, the first of layer2..4 with a projection shortcut
    assert [b.block for b in f.blocks] == [f"layer{s}.{i}" for s in range(1, 5) for i in (0, 1)]
    assert [b.block for b in f.identity] == ["layer1.0", "layer1.1", "layer2.1", "layer3.1", "layer4.1"]
    # the quoted block against the block's output held by a hook: its share of exact zeros and its spread
    for net, dead, std in ((model, f.selected.net_dead, f.selected.net_std), (twin, f.selected.twin_dead,
                                                                               f.selected.twin_std)):  # fmt: skip
        out = _block_out(net, x, "layer3.1").double()
        assert dead == float((out == 0).double().mean())
        assert abs(std - float(out.std(unbiased=False))) < 1e-5 * float(out.abs().max())

    def zeros(net: torch.nn.Module, block: str) -> float:
        return float((_block_out(net, x, block) == 0).double().mean())

    assert f.fewer_zeros == sum(zeros(model, b.block) < zeros(twin, b.block) for b in f.identity)
