"""The command line: JSON against torchvision, readable tables, and exit 2 with one `error:` line."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from resnet_viz.cli import main
from tests.conftest import ROOT


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "resnet_viz", *args], capture_output=True, text=True, cwd=ROOT)


def test_summary_json_resnet50_gives_torchvision_params() -> None:
    p = run("summary", "--arch", "resnet50", "--json")
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    assert out["params"] == 25_557_032 and out["macs"] == 4_089_184_256 and out["depth"] == 50
    assert out["input_shape"] == [3, 224, 224]
    assert out["stages"][-1] == {"name": "layer4", "output_shape": [2048, 7, 7], "stride": [32, 32], "rf": [427, 427]}
    first = out["layers"][0]
    assert {k: first[k] for k in ("name", "type", "output_shape", "params", "macs")} == {
        "name": "conv1", "type": "Conv2d", "output_shape": [64, 112, 112], "params": 9408, "macs": 118_013_952,
    }  # fmt: skip


def test_summary_custom_flags(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["summary", "--family", "cifar", "--depth", "164", "--block", "bottleneck", "--variant", "preact",
                 "--input-size", "40", "48", "--json"]) == 0  # fmt: skip
    out = json.loads(capsys.readouterr().out)
    assert out["depth"] == 164 and out["input_shape"] == [3, 40, 48]
    assert out["stages"][-1]["output_shape"] == [256, 10, 12]
    assert main(["summary", "--block", "basic", "--layers", "1,1", "--plain", "--no-bn", "--num-classes", "7"]) == 0
    table = capsys.readouterr().out
    assert "plain-custom basic [1, 1] (depth 6)" in table and "Linear" in table and "BatchNorm" not in table


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["summary", "--arch", "resnet51"], "error: Unknown architecture 'resnet51'"),
        (["summary", "--family", "cifar", "--depth", "75"], "error: Depth 75 does not fit 6n+2; try 74 or 80."),
        (["summary", "--arch", "resnet50", "--input-size", "0"], "error: argument --input-size: 0 must be at least 1"),
        (["summary", "--arch", "resnet50", "--input-size", "-3"], "error: argument --input-size"),
        (["summary", "--arch", "resnet50", "--depth", "50"], "error: --arch and --depth cannot be used together."),
        (["summary", "--family", "imagenet"], "error: --family needs --depth or --layers"),
        (["summary"], "error: give --arch NAME"),
        (["summary", "--layers", "3,x", "--block", "basic"], "error: The blocks per stage must be whole numbers"),
        (["summary", "--arch", "resnet20", "--input-size", "2"], "error: An input of 2×2 is smaller than"),
        (["summary", "--arch", "resnet50", "--variant", "v9"], "error: argument --variant: invalid choice"),
        (["nonsense"], "error: argument command: invalid choice"),
    ],
)
def test_bad_input_exits_2_with_one_error_line(args: list[str], message: str) -> None:
    p = run(*args)
    assert p.returncode == 2
    assert p.stdout == ""
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(message), p.stderr
