"""`--checkpoint` on the command line: the same output and keys as `--arch` for the net the file holds, its own
weights in `features`, and exit 2 with one `error:` line for every bad file."""

from __future__ import annotations

import json
from pathlib import Path

import psutil
import pytest
import torch
import torchvision

from resnet_viz.cli import main
from resnet_viz.errors import ResourceError
from resnet_viz.nets.checkpoint import read_checkpoint_file
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


def test_exit_2_from_the_shell_for_a_file_past_the_memory_free_and_a_conflict(tmp_path: Path, pets: Path) -> None:
    big = tmp_path / "huge.pth"
    size = psutil.virtual_memory().total  # sparse: no disk is used for the size, and no machine has twice it free
    with big.open("wb") as f:
        f.truncate(size)
    p = run("summary", "--checkpoint", str(big))
    assert p.returncode == 2 and p.stdout == "" and len(p.stderr.splitlines()) == 1
    assert p.stderr.startswith(f"error: huge.pth is {size / 2**20:,.1f} MB; reading it needs about twice that in ")
    with pytest.raises(SystemExit):
        main(["summary", "--checkpoint", str(pets), "--arch", "resnet50"])
    with pytest.raises(SystemExit):
        main(["summary", "--checkpoint", str(tmp_path / "missing.pth")])


def test_a_local_file_has_no_upload_limit(
    pets: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The web uploader's limit is for uploads: a local file over it opens (here the limit is made 1 KB)."""
    monkeypatch.setattr("resnet_viz.nets.checkpoint.max_upload_bytes", lambda: 1024)
    assert pets.stat().st_size > 1024
    assert out_of(capsys, "summary", "--checkpoint", str(pets)).startswith(LINE + "\n")
    with pytest.raises(ResourceError) as e:
        read_checkpoint_file(pets, available=pets.stat().st_size)
    assert str(e.value) == (
        f"pets.pth is {pets.stat().st_size / 2**20:,.1f} MB; reading it needs about twice that in memory, but only "
        f"{pets.stat().st_size / 2**20:,.1f} MB is free."
    )


@pytest.mark.parametrize("protocol", [3, 4, 5])
def test_an_old_pickle_protocol_is_one_error_line(protocol: int, tmp_path: Path) -> None:
    """torch warns on stderr about a pickle protocol it does not default to; the CLI still says one line."""
    path = tmp_path / "old.pth"
    torch.save({"alpha": torch.ones(2)}, path, _use_new_zipfile_serialization=False, pickle_protocol=protocol)
    p = run("summary", "--checkpoint", str(path))
    not_resnet = "This is not a ResNet: its key alpha has no place in one (a ResNet has conv1, bn1, layer1… and fc)."
    legacy = (  # protocols 4 and 5 frame their pickles, which torch's safe loader cannot read
        f"old.pth is in torch's legacy format with pickle protocol {protocol}, which the safe loader cannot read; "
        "save it again with torch.save(model.state_dict(), path) (the zip format, torch's default since 1.6)."
    )
    assert p.returncode == 2 and p.stdout == ""
    assert p.stderr == f"error: {not_resnet if protocol == 3 else legacy}\n"


def test_akamaster_th_file_and_a_transformers_config(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from tests.test_dialects import AkaResNet, akamaster_file

    torch.manual_seed(1)
    path = tmp_path / "resnet20-12fca82f.th"
    path.write_bytes(akamaster_file(randomized(AkaResNet(3))))
    first = out_of(capsys, "summary", "--checkpoint", str(path)).splitlines()[0]
    assert first == (
        "resnet20-12fca82f.th: ResNet-20 layout, 10 classes, shortcut A, from a training checkpoint (CIFAR script "
        "layout, akamaster's pytorch_resnet_cifar10, key `state_dict`, prefix `module.`)"
    )
    plain = json.loads(out_of(capsys, "summary", "--checkpoint", str(path), "--shortcuts", "none", "--json"))
    assert plain["title"] == "plain-resnet20 (depth 20)"
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"model_type": "resnet", "id2label": {str(i): f"c{i}" for i in range(10)}}))
    img = tmp_path / "cat.jpg"
    img.write_bytes(sample_bytes("cat"))
    args = ["features", "--checkpoint", str(path), "--config", str(config), "--image", str(img), "--input-size", "32"]
    out = json.loads(out_of(capsys, *args, "--json"))
    assert out["prediction"][0]["label"] == f"c{out['prediction'][0]['index']}"
    config.write_text("{not json")
    p = run(*args)
    assert p.returncode == 2 and p.stderr == (
        "error: The config file is not a transformers config.json (line 1: Expecting property name enclosed in "
        "double quotes); give the config.json saved beside the weights, or none.\n"
    )


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


@pytest.mark.parametrize("flags", [["--config", "config.json"], ["--shortcuts", "none"]])
def test_a_file_reading_flag_without_a_file_is_one_error_line(
    flags: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as e:
        main(["summary", "--arch", "resnet20", *flags])
    lines = capsys.readouterr().err.splitlines()
    assert e.value.code == 2
    assert lines == [f"error: {flags[0]} goes with --checkpoint FILE: it describes a checkpoint file."]
