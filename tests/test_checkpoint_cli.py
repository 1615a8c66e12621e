"""`--checkpoint` on the command line: the same output and keys as `--arch` for the net the file holds, its own
weights in `features`, and exit 2 with one `error:` line for every bad file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
import torchvision

from resnet_viz.cli import main
from resnet_viz.config import max_upload_bytes
from resnet_viz.vision.samples import sample_bytes
from tests.test_checkpoint import BAD, randomized, save
from tests.test_cli import run

LINE = "pets.pth: ResNet-34 layout, 37 classes, shortcut B, from a training checkpoint (key `model`, prefix `module.`)"


@pytest.fixture(scope="module")
def pets(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A ResNet-34 fine-tuned to 37 classes, as torchvision's reference scripts save it under DataParallel."""
    torch.manual_seed(34)
    path = tmp_path_factory.mktemp("ckpt") / "pets.pth"
    path.write_bytes(save(randomized(torchvision.models.resnet34(num_classes=37)).state_dict(), "model", "module."))
    return path


def out_of(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    assert main(list(args)) == 0
    return capsys.readouterr().out


def test_summary_and_graph_are_those_of_arch(pets: Path, capsys: pytest.CaptureFixture[str]) -> None:
    mine = json.loads(out_of(capsys, "summary", "--checkpoint", str(pets), "--json", "--input-size", "160"))
    arch = json.loads(
        out_of(capsys, "summary", "--arch", "resnet34", "--num-classes", "37", "--json", "--input-size", "160")
    )
    assert mine == arch
    assert mine["params"] == sum(p.numel() for p in torchvision.models.resnet34(num_classes=37).parameters())
    table = out_of(capsys, "summary", "--checkpoint", str(pets))
    assert table.startswith(LINE + "\n\nresnet34 (depth 34)  input 3×224×224")
    assert out_of(capsys, "graph", "--checkpoint", str(pets), "--level", "stage") == out_of(
        capsys, "graph", "--arch", "resnet34", "--num-classes", "37", "--level", "stage"
    )
    plain = json.loads(out_of(capsys, "summary", "--checkpoint", str(pets), "--plain", "--variant", "v1", "--json"))
    assert plain["title"] == "plain-resnet34 (depth 34)"


def test_features_uses_the_files_weights_and_class_names(
    pets: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    img = tmp_path / "cat.jpg"
    img.write_bytes(sample_bytes("cat"))
    names = tmp_path / "names.txt"
    names.write_text("\n".join(f"breed {i}" for i in range(37)) + "\n")
    args = ["features", "--checkpoint", str(pets), "--image", str(img), "--input-size", "64", "--json"]
    out = json.loads(out_of(capsys, *args, "--class-names", str(names)))
    assert out["arch"] == "resnet34" and out["weights"] == "file:pets.pth"
    assert [s["name"] for s in out["stages"]] == ["stem", "layer1", "layer2", "layer3", "layer4"]
    # the oracle: torchvision's resnet34 with the file's weights, on the same preprocessed picture
    from resnet_viz.nets.checkpoint import read_checkpoint_file
    from resnet_viz.vision.images import load_image, preprocess, resize_size

    ref = torchvision.models.resnet34(num_classes=37).eval()
    ref.load_state_dict(read_checkpoint_file(pets).tensors)
    x = preprocess(load_image(img.read_bytes(), min_side=resize_size(64)), size=64).tensor
    with torch.no_grad():
        p = torch.softmax(ref(x)[0].double(), 0)
    best = int(p.argmax())
    assert out["prediction"][0] == {
        "index": best,
        "label": f"breed {best}",
        "probability": pytest.approx(float(p[best])),
    }
    with pytest.raises(SystemExit):
        main([*args, "--weights", "random"])
    assert capsys.readouterr().err == "error: --checkpoint and --weights cannot be used together.\n"


@pytest.fixture(scope="module")
def bad_files() -> dict[str, bytes]:
    return {name: make() for name, (make, _, _) in BAD.items()}


@pytest.mark.parametrize("name", BAD)
def test_every_bad_file_is_one_error_line(
    name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], bad_files: dict[str, bytes]
) -> None:
    path = tmp_path / "file.pth"
    path.write_bytes(bad_files[name])
    with pytest.raises(SystemExit) as e:
        main(["summary", "--checkpoint", str(path)])
    captured = capsys.readouterr()
    lines = captured.err.splitlines()
    assert e.value.code == 2 and captured.out == "" and len(lines) == 1 and lines[0].startswith("error: ")


def test_exit_2_from_the_shell_for_a_file_over_the_limit_and_a_conflict(tmp_path: Path, pets: Path) -> None:
    big = tmp_path / "huge.pth"
    with big.open("wb") as f:  # sparse: no disk is used for the size
        f.truncate(max_upload_bytes() + 1)
    p = run("summary", "--checkpoint", str(big))
    limit = max_upload_bytes() / 2**20
    assert p.returncode == 2 and p.stdout == ""
    assert p.stderr == f"error: huge.pth is {limit:,.1f} MB, more than the upload limit of {limit:,.1f} MB.\n"
    with pytest.raises(SystemExit):
        main(["summary", "--checkpoint", str(pets), "--arch", "resnet50"])
    with pytest.raises(SystemExit):
        main(["summary", "--checkpoint", str(tmp_path / "missing.pth")])


def test_features_of_a_grayscale_net_is_one_sentence(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    net = torchvision.models.resnet18(num_classes=2)
    net.conv1 = torch.nn.Conv2d(1, 64, 7, 2, 3, bias=False)
    path, img = tmp_path / "xray.pth", tmp_path / "cat.jpg"
    path.write_bytes(save(net.state_dict(), "bare"))
    img.write_bytes(sample_bytes("cat"))
    assert json.loads(out_of(capsys, "summary", "--checkpoint", str(path), "--json"))["input_shape"] == [1, 224, 224]
    with pytest.raises(SystemExit):
        main(["features", "--checkpoint", str(path), "--image", str(img)])
    assert capsys.readouterr().err == (
        "error: This net takes 1-channel inputs, but pictures here are RGB (3 channels), so its feature maps cannot "
        "be shown.\n"
    )
