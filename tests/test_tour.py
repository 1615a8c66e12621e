"""The tour's chapters and the numbers its text quotes, against torchvision, the papers and hand computations."""

from __future__ import annotations

import json
import math
import string
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torchvision

from resnet_viz import trace
from resnet_viz.i18n import LANGS, strings
from resnet_viz.sweep import SweepCurve
from resnet_viz.tour import (
    CHAPTERS,
    SHIPPED_SWEEP,
    SWEEP_FILE,
    block_facts,
    chapter_index,
    curves_to_json,
    family_rows,
    load_curves,
    shortcut_rows,
    sweep_ends,
    v1_vs_v15,
)
from tests.conftest import ROOT


def test_chapters_are_the_seven_of_the_issue_and_have_their_text() -> None:
    assert [c.key for c in CHAPTERS] == [
        "degradation",
        "block",
        "shortcuts",
        "gradients",
        "family",
        "features",
        "dense",
    ]
    assert len({c.view for c in CHAPTERS}) == 7
    for lang in LANGS:
        text = strings(lang)
        for c in CHAPTERS:
            assert 1 <= c.questions <= 2
            for part in ("title", "body", *(f"q{i}" for i in range(1, c.questions + 1))):
                assert text[f"tour.{c.key}.{part}"].strip(), (lang, c.key, part)
            assert f"tour.{c.key}.q{c.questions + 1}" not in text


def test_no_number_is_typed_into_the_chapter_text() -> None:
    # Numbers a student reads come from placeholders; only names and citations (ResNet-56, 2015, 1×1, §3.3) are literal.
    allowed = {"1", "2", "3", "4", "5", "6", "7", "18", "34", "50", "101", "121", "152", "2015", "2016", "2017"}
    for lang in LANGS:
        for key, template in strings(lang).items():
            if not key.startswith("tour.") or ".col." in key:
                continue
            literal = "".join(part for part, *_ in string.Formatter().parse(template))
            numbers = {n for n in __import__("re").findall(r"\d+", literal)}
            assert numbers <= allowed, (lang, key, numbers - allowed)


def test_chapter_index_falls_back_to_the_first() -> None:
    assert chapter_index("dense") == 6
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


def test_shipped_curves_match_the_script_settings() -> None:
    config, curves = load_curves()
    assert config == SHIPPED_SWEEP
    assert [(c.depth, c.plain) for c in curves] == [(20, True), (20, False), (56, True), (56, False)]
    assert all(len(c.loss) == config.steps and all(math.isfinite(v) for v in c.loss) for c in curves)
    assert SWEEP_FILE.stat().st_size < 64_000
    # at initialisation the loss of ten balanced classes is about ln 10
    assert all(abs(c.loss[0] - math.log(10)) < 1.0 for c in curves)


def test_sweep_ends_and_json_round_trip(tmp_path: Path) -> None:
    curves = (SweepCurve(20, True, "a", tuple([9.0] * 10 + [1.0, 2.0, 3.0])),)
    assert sweep_ends(curves, window=3)[0].final_loss == 2.0
    path = tmp_path / "c.json"
    path.write_text(json.dumps(curves_to_json(SHIPPED_SWEEP, curves)))
    assert load_curves(path) == (SHIPPED_SWEEP, curves)


@pytest.mark.slow
def test_precompute_script_trains_the_sweep(tmp_path: Path) -> None:
    out = tmp_path / "curves.json"
    cmd = [
        sys.executable,
        str(ROOT / "scripts" / "precompute_sweep.py"),
        "--depths",
        "8",
        "--steps",
        "3",
        "--out",
        str(out),
    ]
    subprocess.run(cmd, check=True, cwd=ROOT, capture_output=True, timeout=300)
    config, curves = load_curves(out)
    assert config.depths == (8,) and config.steps == 3
    assert [(c.depth, c.plain, len(c.loss)) for c in curves] == [(8, True, 3), (8, False, 3)]
