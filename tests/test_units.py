"""Human units against hand-written expectations, including the rounding edges a naive formatter gets wrong."""

from __future__ import annotations

import pytest

from resnet_viz.graph.draw import human as draw_human
from resnet_viz.graph.units import human as graph_human
from resnet_viz.units import exact, human


@pytest.mark.parametrize(
    ("n", "text"),
    [
        (0, "0"),
        (512, "512"),
        (999, "999"),
        (1000, "1 K"),
        (9536, "9.54 K"),  # ResNet-50's stem conv
        (999_400, "999 K"),
        (999_999, "1 M"),  # not "1e+03 K"
        (25_557_032, "25.6 M"),  # ResNet-50's params (torchvision)
        (118_013_952, "118 M"),  # ResNet-50's stem MACs at 224×224
        (4_089_184_256, "4.09 G"),  # ResNet-50's MACs (torchvision: 4.089 GFLOPs)
        (3_700_000_000_000, "3.7 T"),
        (1_234_000_000_000_000, "1,234 T"),
        (-2500, "-2.5 K"),
    ],
)
def test_human(n: int, text: str) -> None:
    assert human(n) == text


def test_graph_keeps_the_same_formatter() -> None:
    assert graph_human is human and draw_human is human


def test_exact() -> None:
    assert exact(25_557_032) == "25,557,032"
