"""Weights: torchvision's ImageNet file from a temporary TORCH_HOME, the offline fallback, a new classifier,
user checkpoints (.pth and .safetensors), their mismatches in one sentence, and pickles refused."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
import torch
import torchvision
from safetensors.torch import save as save_safetensors

from resnet_viz import ResNet, build, preset
from resnet_viz.cli import main
from resnet_viz.errors import InputError
from resnet_viz.vision.samples import sample_bytes
from resnet_viz.vision.weights import (
    apply_checkpoint,
    cached_weights_path,
    load_model,
    read_checkpoint,
    supports_imagenet,
    twin_of,
)


def pth(obj: object) -> bytes:
    buf = io.BytesIO()
    torch.save(obj, buf)
    return buf.getvalue()


@pytest.fixture(scope="module")
def tv18() -> dict[str, torch.Tensor]:
    """torchvision's own resnet18 (seeded, untrained): the state_dict an ImageNet file would hold."""
    torch.manual_seed(123)
    return torchvision.models.resnet18().state_dict()


@pytest.fixture
def torch_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tv18: dict[str, torch.Tensor]) -> Path:
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    monkeypatch.setenv("RESNET_VIZ_OFFLINE", "1")
    path = cached_weights_path("resnet18")
    assert path == tmp_path / "hub" / "checkpoints" / "resnet18-f37072fd.pth"
    path.parent.mkdir(parents=True)
    torch.save(tv18, path)
    return tmp_path


def same_weights(model: torch.nn.Module, sd: dict[str, torch.Tensor], skip: str = "\0") -> bool:
    own = model.state_dict()
    return all(torch.equal(own[k], v) for k, v in sd.items() if not k.startswith(skip))


def test_imagenet_weights_load_from_the_torch_cache(torch_home: Path, tv18: dict[str, torch.Tensor]) -> None:
    model, info = load_model(preset("resnet18"), "imagenet")
    assert info.source == "imagenet" and info.detail == "ResNet18_Weights.IMAGENET1K_V1"
    assert info.categories is not None and len(info.categories) == 1000 and info.categories[0] == "tench"
    assert same_weights(model, tv18) and not model.training


def test_new_num_classes_reinitialises_the_classifier(torch_home: Path, tv18: dict[str, torch.Tensor]) -> None:
    model, info = load_model(preset("resnet18", num_classes=10), "imagenet")
    assert info.source == "imagenet" and info.classifier_reset and info.categories is None
    assert same_weights(model, tv18, skip="fc.")
    assert isinstance(model.fc, torch.nn.Linear) and model.fc.weight.shape == (10, 512)
    assert not torch.equal(model.fc.weight, tv18["fc.weight"][:10])  # not a slice of the 1000-way layer
    torch.manual_seed(0)
    fresh = build("resnet18", device="cpu", num_classes=10)  # the seeded init load_model also uses
    assert isinstance(model.fc, torch.nn.Linear) and isinstance(fresh.fc, torch.nn.Linear)
    assert torch.equal(model.fc.weight, fresh.fc.weight)


def test_offline_without_cache_falls_back_to_random(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    _, info = load_model(preset("resnet18"), "imagenet", download=False)
    assert info.source == "random" and info.fallback == "offline" and not info.pretrained
    _, info = load_model(preset("resnet20"), "imagenet", download=False)
    assert info.fallback == "no_preset"
    assert supports_imagenet(preset("resnet50", num_classes=7))
    assert not supports_imagenet(preset("resnet50", variant="v1"))


def test_checkpoint_pth_and_safetensors_load(tv18: dict[str, torch.Tensor]) -> None:
    for name, data in (
        ("mine.pth", pth(tv18)),
        ("wrapped.pt", pth({"epoch": 3, "state_dict": {f"module.{k}": v for k, v in tv18.items()}})),
        ("mine.safetensors", save_safetensors({k: v.contiguous() for k, v in tv18.items()})),
    ):
        model = build("resnet18", device="cpu")
        info = apply_checkpoint(model, data, name)
        assert info.source == "file" and info.detail == name
        assert same_weights(model, tv18)


def _error(model: ResNet, data: bytes, name: str = "x.pth") -> InputError:
    with pytest.raises(InputError) as e:
        apply_checkpoint(model, data, name)
    return e.value


def test_mismatches_name_the_first_one(tv18: dict[str, torch.Tensor]) -> None:
    model = build("resnet18", device="cpu")
    torch.manual_seed(0)
    tv34 = torchvision.models.resnet34().state_dict()
    extra = [k for k in tv34 if k not in tv18]
    assert _error(model, pth(tv34)).message() == (
        f"The checkpoint does not fit resnet18 (depth 18): it has {extra[0]}, which this net does not "
        f"({len(extra)} mismatches in all)."
    )
    assert extra[0] == "layer1.2.conv1.weight"
    missing = {k: v for k, v in tv18.items() if k != "layer3.1.bn2.running_var"}
    assert _error(model, pth(missing)).message() == (
        "The checkpoint does not fit resnet18 (depth 18): it has no layer3.1.bn2.running_var (1 mismatches in all)."
    )


def test_shape_mismatch_sentence(tv18: dict[str, torch.Tensor]) -> None:
    model = build("resnet18", device="cpu")
    before = {k: v.clone() for k, v in model.state_dict().items()}
    wrong = {**tv18, "fc.weight": torch.zeros(10, 512)}
    as_safetensors = save_safetensors({k: v.contiguous() for k, v in wrong.items()})
    assert _error(model, as_safetensors, "w.safetensors").code == "checkpoint_shape"
    assert _error(model, pth(wrong)).message() == (
        "The checkpoint does not fit resnet18 (depth 18): fc.weight is 10×512 in the file but 1000×512 in the net "
        "(1 mismatches in all)."
    )
    assert same_weights(model, before)  # nothing was loaded


class _Evil:
    """A pickle that would run code when loaded without weights_only."""

    ran = False

    def __reduce__(self) -> tuple[object, tuple[object, ...]]:
        return (setattr, (_Evil, "ran", True))


def test_pickles_that_are_not_state_dicts_are_refused() -> None:
    refused = (
        "This file holds pickled objects rather than a plain state_dict (names to tensors), so it was refused; "
        "save model.state_dict() instead."
    )
    whole_module = pth(torchvision.models.resnet18())  # unpickling would need the class: weights_only refuses
    assert _error(build("resnet18", device="cpu"), whole_module).message() == refused
    assert _error(build("resnet18", device="cpu"), pth([torch.zeros(3)])).message() == refused
    assert _error(build("resnet18", device="cpu"), pth({"payload": _Evil()})).message() == refused
    assert not _Evil.ran
    ok = read_checkpoint(pth({"a": torch.ones(2)}), "ok.bin")
    assert list(ok) == ["a"] and torch.equal(ok["a"], torch.ones(2))
    with pytest.raises(InputError) as e:
        read_checkpoint(b"garbage bytes", "x.safetensors")
    assert e.value.code == "checkpoint_unreadable"
    with pytest.raises(InputError) as e:
        read_checkpoint(b"garbage bytes", "x.ckpt")
    assert e.value.code == "checkpoint_suffix"


def test_plain_twin_shares_every_weight_but_the_shortcuts(tv18: dict[str, torch.Tensor]) -> None:
    model = build("resnet18", device="cpu")
    model.load_state_dict(tv18)
    twin = twin_of(model)
    assert twin.spec == preset("resnet18", plain=True)
    own = twin.state_dict()
    assert set(tv18) - set(own) == {k for k in tv18 if ".downsample." in k}
    assert all(torch.equal(own[k], tv18[k]) for k in own)


def test_cli_with_cached_imagenet_weights_predicts(torch_home: Path, tmp_path: Path, capsys) -> None:
    img = tmp_path / "coffee.jpg"
    img.write_bytes(sample_bytes("coffee"))
    assert main(["features", "--arch", "resnet18", "--image", str(img), "--input-size", "64", "--json"]) == 0
    got = json.loads(capsys.readouterr().out)
    assert got["weights"] == "ResNet18_Weights.IMAGENET1K_V1"
    names = torchvision.models.ResNet18_Weights.DEFAULT.meta["categories"]
    assert len(got["prediction"]) == 5 and all(p["label"] == names[p["index"]] for p in got["prediction"])
    assert sum(p["probability"] for p in got["prediction"]) <= 1.0


def test_a_cifar_scripts_th_file_loads_into_its_preset() -> None:
    """The feature page's own checkpoint upload reads another code base's names as "My checkpoint" does."""
    from tests.test_checkpoint import randomized
    from tests.test_dialects import AkaResNet, akamaster_file

    torch.manual_seed(5)
    ref = randomized(AkaResNet(3))
    model = build("resnet20", device="cpu")
    assert apply_checkpoint(model, akamaster_file(ref), "resnet20.th").detail == "resnet20.th"
    x = torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        want = ref(x)
        torch.testing.assert_close(model.eval()(x), want, rtol=0, atol=1e-5 * float(want.abs().max()))
