"""Activations from one hooked forward pass: shapes against the tracer, values against a hand-run forward,
hooks gone afterwards; Grad-CAM against its closed form at the last stage; the montage pixel by pixel; a finished
lab run's two nets against its stored weights, CIFAR-size preprocessing against torchvision."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import load, save
from torch import nn
from torchvision import transforms as T

from resnet_viz import build, trace
from resnet_viz.cli import main
from resnet_viz.lab.data import CIFAR_MEAN, CIFAR_STD
from resnet_viz.lab.insights.data import held_out
from resnet_viz.lab.store import RunStore, StoreError
from resnet_viz.vision.features import (
    ActivationRecord,
    capture,
    colorize,
    mean_overlay,
    montage,
    top_channels,
)
from resnet_viz.vision.gradcam import gradcam, tap_names
from resnet_viz.vision.images import load_image, preprocess
from resnet_viz.vision.samples import held_out_samples, sample_bytes
from resnet_viz.vision.weights import load_run
from tests.test_insights_app import CONFIG, finished_run

# synthetic()'s ten classes: five orientations (36° apart) at a low and a high frequency
SYNTHETIC_CLASSES = ("0°/low", "36°/low", "72°/low", "108°/low", "144°/low",
                     "0°/high", "36°/high", "72°/high", "108°/high", "144°/high")  # fmt: skip


def no_hooks(model: nn.Module) -> bool:
    return all(not m._forward_hooks and not m._forward_pre_hooks for m in model.modules())


@pytest.fixture(scope="module")
def resnet18() -> nn.Module:
    torch.manual_seed(0)
    return build("resnet18", device="cpu").eval()


@pytest.mark.parametrize(("arch", "size"), [("resnet18", 96), ("resnet20", 32), ("preact_resnet164", 32)])
def test_shapes_match_the_tracer_and_hooks_are_removed(arch: str, size: int) -> None:
    torch.manual_seed(0)
    model = build(arch, device="cpu")
    model.train()
    result = capture(model, torch.randn(1, 3, size, size), blocks=True)
    report = trace(arch, input_size=size)
    stages = [a for a in result.activations if a.kind != "block"]
    assert [(a.name, a.shape) for a in stages] == [(s.name, s.output_shape) for s in report.stages]
    blocks = [a for a in result.activations if a.kind == "block"]
    assert [(a.name, a.shape) for a in blocks] == [(b.name, b.output_shape) for b in report.blocks]
    assert no_hooks(model)
    assert model.training  # the mode it came in with
    assert result.logits.shape == (model.spec.num_classes,)


def test_values_match_a_forward_by_hand(resnet18: nn.Module) -> None:
    x = torch.randn(1, 3, 64, 64)
    result = capture(resnet18, x)
    with torch.no_grad():
        stem = resnet18.maxpool(resnet18.relu(resnet18.bn1(resnet18.conv1(x))))  # (1, 64, 16, 16)
        l1 = resnet18.layer1(stem)
        logits = resnet18(x)
    assert [a.name for a in result.activations] == ["stem", "layer1", "layer2", "layer3", "layer4"]
    assert torch.equal(torch.from_numpy(result.get("stem").values), stem[0])
    assert torch.allclose(torch.from_numpy(result.get("layer1").values), l1[0], atol=1e-6)
    assert torch.allclose(torch.from_numpy(result.logits), logits[0], atol=1e-5)
    rec = result.get("layer1")
    assert np.allclose(rec.channel_means, l1[0].mean(dim=(1, 2)).numpy(), atol=1e-6)
    assert rec.vmin == pytest.approx(float(l1.min())) and rec.vmax == pytest.approx(float(l1.max()))
    probs = torch.softmax(logits[0].double(), 0)
    top = result.predictions(5)
    assert [p.index for p in top] == torch.topk(probs, 5).indices.tolist()
    assert top[0].probability == pytest.approx(float(probs.max()), rel=1e-6)
    assert top[0].label == f"class {top[0].index}"


def test_hooks_are_removed_when_the_forward_fails(resnet18: nn.Module) -> None:
    with pytest.raises(RuntimeError):
        capture(resnet18, torch.randn(1, 5, 64, 64))  # 5 channels: conv1 refuses
    assert no_hooks(resnet18)


def test_top_channels_by_mean() -> None:
    assert top_channels(np.array([0.1, 3.0, -1.0, 3.0, 2.0]), 3) == (1, 3, 4)  # ties: the lower index first
    assert top_channels(np.array([0.5, 0.2]), 10) == (0, 1)


def _record(values: np.ndarray) -> ActivationRecord:
    v = values.astype(np.float32)
    c, h, w = v.shape
    return ActivationRecord("x", "stage", (c, h, w), v, v.mean(axis=(1, 2)), float(v.min()), float(v.max()), 0.0)


def test_montage_layout_pixel_by_pixel() -> None:
    vals = np.zeros((3, 2, 2), dtype=np.float32)
    vals[0] = [[0, 1], [2, 3]]
    vals[1] = 5.0  # flat: drawn in the lowest colour
    vals[2] = [[9, 0], [0, 0]]
    out = montage(_record(vals), (2, 0, 1), cols=2, cell=4, gap=2)  # each 2×2 map x2 -> 4×4 cells
    assert out.shape == (4 + 2 + 4, 4 + 2 + 4, 3)
    low, high = colorize(np.array([[0.0, 1.0]]))[0]
    assert (out[0, 0] == high).all() and (out[0, 2] == low).all()  # channel 2 first: its 9 at top-left
    assert (out[0, 4] == 255).all() and (out[4, 0] == 255).all()  # white gaps
    ch0 = colorize(vals[0])  # channel 0 sits top-right, each value a 2×2 square
    assert (out[0, 6] == low).all() and (out[1, 9] == ch0[0, 1]).all() and (out[3, 6] == ch0[1, 0]).all()
    assert (out[6:, 0:4] == low).all()  # channel 1, flat
    assert (out[6:, 6:] == 255).all()  # an empty fourth cell stays white


def test_mean_overlay_blends_the_mean_map() -> None:
    pic = Image.new("RGB", (8, 8), (10, 20, 30))
    vals = np.zeros((2, 2, 2), dtype=np.float32)
    vals[:, 0, 0] = 4.0  # the mean is high at the top-left only
    plain = mean_overlay(pic, _record(vals), alpha=0.0)
    assert (plain == (10, 20, 30)).all()
    full = mean_overlay(pic, _record(vals), alpha=1.0)
    high, low = colorize(np.array([[1.0, 0.0]]))[0]
    assert (full[0, 0] == high).all() and (full[7, 7] == low).all()


def test_gradcam_at_the_last_stage_matches_its_closed_form(resnet18: nn.Module) -> None:
    x = preprocess(load_image(sample_bytes("cat")), size=64).tensor
    cam = gradcam(resnet18, x, tap="layer4", class_index=7)
    with torch.no_grad():
        a = resnet18.forward_features(x)[0]  # (512, 2, 2)
    # logit_7 = w_7 · mean_hw(A) + b_7, so d logit / dA_k = w_7k / (h w) everywhere (Selvaraju et al. eq. 1)
    alpha = resnet18.fc.weight[7].detach() / (a.shape[1] * a.shape[2])
    want = torch.relu((alpha[:, None, None] * a).sum(0))
    assert cam.class_index == 7 and cam.cam.shape == (2, 2)
    assert np.allclose(cam.cam, want.numpy(), atol=1e-5)
    assert np.allclose(cam.weights, alpha.numpy(), atol=1e-7)
    assert no_hooks(resnet18) and all(p.grad is None for p in resnet18.parameters())


def test_gradcam_taps_and_predicted_class(resnet18: nn.Module) -> None:
    assert tap_names(resnet18) == ["stem", "layer1", "layer2", "layer3", "layer4"]
    assert tap_names(resnet18, blocks=True)[:4] == ["stem", "layer1.0", "layer1.1", "layer1"]
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        predicted = int(resnet18(x).argmax())
    for tap in ("stem", "layer2.1"):
        cam = gradcam(resnet18, x, tap=tap)
        assert cam.class_index == predicted
    assert gradcam(resnet18, x, tap="stem").cam.shape == (16, 16)
    assert no_hooks(resnet18)


def test_cli_json_and_grids(tmp_path, capsys, monkeypatch) -> None:
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "empty-cache"))
    monkeypatch.setenv("RESNET_VIZ_OFFLINE", "1")
    img = tmp_path / "cat.jpg"
    img.write_bytes(sample_bytes("cat"))
    out = tmp_path / "grids"
    argv = ["features", "--arch", "resnet18", "--image", str(img), "--input-size", "64", "--json"]
    assert main([*argv, "--out-dir", str(out), "--top-k", "4"]) == 0
    got = json.loads(capsys.readouterr().out)
    assert got["arch"] == "resnet18" and got["weights"] == "random (offline)"
    assert got["input_shape"] == [3, 64, 64] and "prediction" not in got
    report = trace("resnet18", input_size=64)
    assert [(s["name"], s["shape"]) for s in got["stages"]] == [(s.name, list(s.output_shape)) for s in report.stages]
    assert all(len(s["top_channels"]) == 4 for s in got["stages"])
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted([f"{s.name}.png" for s in report.stages] + [f"{s.name}_mean.png" for s in report.stages])
    stem = Image.open(out / "stem.png")
    assert stem.size == (2 * 96 + 2, 2 * 96 + 2)  # 4 channels of 16×16, ×6 to 96 px, 2 px gap


def test_cli_bad_image_is_one_error_line(tmp_path, capsys) -> None:
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"not an image at all")
    with pytest.raises(SystemExit) as e:
        main(["features", "--arch", "resnet18", "--image", str(bad), "--weights", "random"])
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert err == "error: This file is not an image this app can read; use JPEG, PNG, WebP, BMP, TIFF or GIF.\n"


def finished_pair(store: RunStore) -> str:
    """A finished run whose plain net then gets weights of another draw, so its two nets differ in every tensor
    they share: a page that copied the residual net's weights into a twin would show it."""
    rid = finished_run(store)
    torch.manual_seed(CONFIG.seed + 1)
    plain = build(CONFIG.specs()["plain"].replace(num_classes=10), device="cpu").state_dict()
    store.put_blob(rid, "plain", "final", CONFIG.steps, save({k: v.contiguous() for k, v in plain.items()}))
    return rid


def stored(store: RunStore, rid: str, net: str) -> dict[str, torch.Tensor]:
    blob = store.get_blob(rid, net, "final")  # type: ignore[arg-type]
    assert blob is not None
    return load(blob[1])


def test_a_lab_run_gives_its_own_two_trained_nets_and_the_data_sets_classes(app_store: RunStore) -> None:
    rid = finished_pair(app_store)
    residual, plain, info = load_run(app_store, rid)
    for model, net in ((residual, "residual"), (plain, "plain")):
        want = stored(app_store, rid, net)
        got = model.state_dict()
        assert sorted(got) == sorted(want)
        assert all(torch.equal(got[k], want[k]) for k in want), net
        assert not model.training
    assert not torch.equal(plain.state_dict()["conv1.weight"], residual.state_dict()["conv1.weight"])
    assert residual.spec == CONFIG.spec.replace(num_classes=10) and plain.spec == residual.spec.twin()
    assert (info.source, info.detail, info.categories) == ("lab", rid, SYNTHETIC_CLASSES)
    assert info.pretrained and not info.classifier_reset


def test_an_unfinished_run_is_one_sentence(app_store: RunStore) -> None:
    queued, _ = app_store.create(CONFIG, origin="cli")
    with pytest.raises(StoreError) as e:
        load_run(app_store, queued)
    assert e.value.code == "run_not_finished"


def test_cifar_size_preprocessing_matches_torchvision() -> None:
    rng = np.random.default_rng(1)
    img = Image.fromarray(rng.integers(0, 256, (301, 457, 3), dtype=np.uint8))
    pre = preprocess(img, size=32, mean=CIFAR_MEAN, std=CIFAR_STD, crop_ratio=1.0)
    oracle = T.Compose(
        [
            T.Resize(32, interpolation=T.InterpolationMode.BILINEAR),  # the whole shorter side: no margin
            T.CenterCrop(32),
            T.ToTensor(),
            T.Normalize([0.4914, 0.4822, 0.4465], [0.2470, 0.2435, 0.2616]),  # CIFAR-10's training-set statistics
        ]
    )(img)
    assert pre.resized.size == (48, 32)  # int(32 * 457 / 301) = 48
    assert pre.tensor.shape == (1, 3, 32, 32) and (pre.mean, pre.std) == (CIFAR_MEAN, CIFAR_STD)
    assert torch.allclose(pre.tensor[0], oracle, atol=1e-5)


def test_held_out_pictures_give_back_the_held_out_tensors_under_the_cifar_normalisation() -> None:
    pictures = held_out_samples(12)
    images, labels = held_out(12)
    assert [name for _, name in pictures] == [SYNTHETIC_CLASSES[int(y)] for y in labels]
    mean = torch.tensor(CIFAR_MEAN)[:, None, None]
    std = torch.tensor(CIFAR_STD)[:, None, None]
    for (png, _), x in zip(pictures, images):
        img = Image.open(io.BytesIO(png))
        assert (img.format, img.mode, img.size) == ("PNG", "RGB", (32, 32))
        back = preprocess(img, size=32, mean=CIFAR_MEAN, std=CIFAR_STD, crop_ratio=1.0).tensor[0]  # (3, 32, 32)
        inside = ((x * std + mean) >= 0) & ((x * std + mean) <= 1)  # values an 8-bit pixel can hold
        assert inside.float().mean() > 0.9
        # 8-bit rounding: half a level, divided by the smallest std
        assert torch.allclose(back[inside], x[inside], atol=0.5 / 255 / min(CIFAR_STD) + 1e-6)
