"""TensorBoard's smoothing checked against hand computations, and the lab's figures that draw it: the smoothed
curve over the raw one, the depth sweep in He et al. 2015 Fig. 6's two panels."""

from __future__ import annotations

import math

import pytest

from resnet_viz.lab.history import NetHistory, SweepCurve
from resnet_viz.plots.gradients import curves_figure, sweep_figure
from resnet_viz.plots.smoothing import ema


def test_ema_by_hand() -> None:
    # weight 0.5 on 1, 0, 1: running sums 0.5, 0.25, 0.625 over debias weights 0.5, 0.75, 0.875
    assert ema([1.0, 0.0, 1.0], 0.5) == pytest.approx([1.0, 1 / 3, 5 / 7])
    # weight 0.6 (the default) on 2, 4: (0.4·4 + 0.24·2) / (1 − 0.36) = 2.08 / 0.64
    assert ema([2.0, 4.0], 0.6) == pytest.approx([2.0, 3.25])
    # debiased: the first point is the value itself, not pulled towards the zero the average starts from
    assert ema([5.0, 6.0], 0.99)[0] == pytest.approx(5.0)


def test_ema_edges_as_tensorboard() -> None:
    assert ema([], 0.6) == [] and ema([3.0, 3.0, 3.0], 0.6) == [3.0, 3.0, 3.0]  # a constant series as it is
    assert ema([1.0, 2.0], 0.0) == [1.0, 2.0]  # 0: no smoothing
    out = ema([1.0, math.nan, 3.0], 0.5)  # a non-finite point is kept and skipped: 3 is the 2nd finite point
    assert out[0] == 1.0 and math.isnan(out[1]) and out[2] == pytest.approx((0.25 + 1.5) / 0.75)


def _history() -> NetHistory:
    return NetHistory("residual", "resnet8 (depth 8)", ("l0",), loss=(2.4, 2.3, 2.2), accuracy=(0.1, 0.2, 0.3))


def test_curves_draw_the_smoothed_curve_over_the_faint_raw_one() -> None:
    fig = curves_figure([_history()], "en", smoothing=0.6)
    raw_loss, loss, raw_acc, acc = fig.data
    assert list(raw_loss.y) == [2.4, 2.3, 2.2] and raw_loss.opacity == 0.25 and raw_loss.showlegend is False
    assert list(loss.y) == pytest.approx([2.4, 1.496 / 0.64, 1.7776 / 0.784])  # by hand, weight 0.6
    assert list(raw_acc.y) == [0.1, 0.2, 0.3] and list(acc.y) == pytest.approx(ema([0.1, 0.2, 0.3], 0.6))
    assert loss.name == "resnet8 (depth 8)" and loss.line.color == raw_loss.line.color
    assert [list(d.y) for d in curves_figure([_history()], "en", smoothing=0).data] == [
        [2.4, 2.3, 2.2],
        [0.1, 0.2, 0.3],
    ]


def test_sweep_is_two_panels_on_one_loss_scale_coloured_by_depth() -> None:
    curves = [
        SweepCurve(d, plain, f"{'plain-' if plain else ''}resnet{d}", (2.0, 1.0 + d / 100))
        for d in (56, 20)
        for plain in (False, True)
    ]
    fig = sweep_figure(curves, "en")
    assert [(d.xaxis, d.hovertemplate.split("<br>")[0]) for d in fig.data] == [
        ("x", "plain-resnet20"),
        ("x", "plain-resnet56"),
        ("x2", "resnet20"),
        ("x2", "resnet56"),
    ]  # plain on the left, residual on the right, shallow to deep
    assert fig.layout.yaxis2.matches == "y" and fig.layout.xaxis.domain[1] <= fig.layout.xaxis2.domain[0]
    assert [d.name for d in fig.data if d.showlegend] == ["20 layers", "56 layers"]  # one legend entry per depth
    colors = [d.line.color for d in fig.data]
    assert colors[0] == colors[2] != colors[1] == colors[3]  # a depth has one colour in both panels
    assert [a.text for a in fig.layout.annotations] == ["plain nets", "residual nets"]
    zh = sweep_figure(curves, "zh", smoothing=0.6)
    assert len(zh.data) == 8 and [a.text for a in zh.layout.annotations] == ["普通网络", "残差网络"]
    assert list(zh.data[1].y) == pytest.approx(ema([2.0, 1.2], 0.6))  # plain-20 smoothed, after its raw curve
