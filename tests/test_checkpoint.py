"""Checkpoints opened as nets, with torchvision as the oracle: every torchvision ResNet in one of the forms a file
comes in, one of them in every form and under every prefix, hand-made files (shortcut A and C, pre-activation, no
batch norm) against a forward pass written out here, and one sentence for every kind of bad file."""

from __future__ import annotations

import argparse
import io
from collections.abc import Callable, Iterator

import pytest
import torch
import torch.nn.functional as F
import torchvision
from safetensors.torch import save as save_safetensors
from torch import Tensor, nn

from resnet_viz.errors import InputError
from resnet_viz.nets.checkpoint import PREFIXES, WRAPPER_KEYS, Checkpoint, read_checkpoint, read_class_names
from resnet_viz.nets.infer import infer, load_weights
from resnet_viz.nets.spec import TORCHVISION_PRESETS, preset
from resnet_viz.nets.trace import trace

FORMS = ("bare", *WRAPPER_KEYS, "safetensors")  # bare: a state_dict alone; a wrapper key: a training checkpoint


def pth(obj: object) -> bytes:
    buf = io.BytesIO()
    torch.save(obj, buf)
    return buf.getvalue()


def save(sd: dict[str, Tensor], form: str, prefix: str = "") -> bytes:
    """``sd`` as a file of ``form``: a bare state_dict, a training checkpoint under a key, or safetensors."""
    sd = {prefix + k: v for k, v in sd.items()}
    if form == "safetensors":
        return save_safetensors({k: v.contiguous() for k, v in sd.items()})
    if form == "bare":
        return pth(sd)
    # what training scripts store beside the weights (torchvision's reference scripts: their argparse options)
    extra = {"epoch": 7, "optimizer": {"state": {}, "param_groups": [{"lr": 0.1}]}, "args": argparse.Namespace(lr=0.1)}
    return pth({form: sd, **extra})


def randomized(model: nn.Module, seed: int = 0) -> nn.Module:
    """Batch norm's statistics and affine parameters drawn at random, so every tensor's place shows in the output."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.copy_(torch.randn(m.num_features, generator=gen) * 0.1)
                m.running_var.copy_(torch.rand(m.num_features, generator=gen) + 0.5)
                m.weight.copy_(torch.rand(m.num_features, generator=gen) + 0.5)
                m.bias.copy_(torch.randn(m.num_features, generator=gen) * 0.1)
    return model.eval()


def same_outputs(ours: nn.Module, ref: nn.Module, size: int = 48) -> None:
    """Eval-mode outputs on one seeded image; at 48 px layer4 is 2×2, so its 3×3 kernels still read off-centre taps."""
    x = torch.randn(1, 3, size, size, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        want = ref(x)
        torch.testing.assert_close(ours(x), want, rtol=1e-4, atol=1e-4 * float(want.abs().max()))


# -- every torchvision ResNet, each in one form (the forms and prefixes rotate over the presets) --------------------
ROTATION = [
    (name, FORMS[i % len(FORMS)], ("", *PREFIXES)[i % 5], (1000, 37)[i % 2])
    for i, name in enumerate(TORCHVISION_PRESETS)
]


@pytest.mark.parametrize(("name", "form", "prefix", "classes"), ROTATION)
def test_every_torchvision_resnet_opens_exactly(name: str, form: str, prefix: str, classes: int) -> None:
    torch.manual_seed(0)
    ref = randomized(getattr(torchvision.models, name)(num_classes=classes))
    inferred = infer(read_checkpoint(save(ref.state_dict(), form, prefix), f"{name}.pth"))
    assert inferred.spec == preset(name, num_classes=classes) and inferred.layout == name
    assert (inferred.source.prefix, inferred.source.key) == (prefix, form if form in WRAPPER_KEYS else None)
    ours = load_weights(inferred)  # load_state_dict(strict=True)
    same_outputs(ours, ref)
    assert trace(inferred.spec, input_size=64).totals.params == sum(p.numel() for p in ref.parameters())


# -- one net in every form, under every prefix ------------------------------------------------------------------------
@pytest.fixture(scope="module")
def tv18() -> nn.Module:
    torch.manual_seed(18)
    return randomized(torchvision.models.resnet18(num_classes=37))


# each form bare and under a prefix (the prefixes take turns), and two prefixes stacked
FORM_CASES = [(f, p) for i, f in enumerate(FORMS) for p in ("", PREFIXES[i % len(PREFIXES)])] + [
    ("ema", "module.model.")
]


@pytest.mark.parametrize(("form", "prefix"), FORM_CASES)
def test_every_form_and_prefix(tv18: nn.Module, form: str, prefix: str) -> None:
    ckpt = read_checkpoint(save(tv18.state_dict(), form, prefix), "pets.pth")
    assert ckpt.form == {"bare": "state_dict", "safetensors": "safetensors"}.get(form, "training")
    assert ckpt.prefix == prefix and ckpt.key == (form if form in WRAPPER_KEYS else None)
    own = tv18.state_dict()
    assert sorted(ckpt.tensors) == sorted(own)  # safetensors sorts its keys
    assert all(torch.equal(v, own[k]) for k, v in ckpt.tensors.items())
    inferred = infer(ckpt)
    assert inferred.spec == preset("resnet18", num_classes=37)
    source = {
        "bare": "a state_dict",
        "safetensors": "a safetensors file",
    }.get(form, "a training checkpoint")
    details = ([f"key `{form}`"] if form in WRAPPER_KEYS else []) + ([f"prefix `{prefix}`"] if prefix else [])
    tail = f" ({', '.join(details)})" if details else ""
    assert inferred.line() == f"ResNet-18 layout, 37 classes, shortcut B, from {source}{tail}"


def test_the_line_in_chinese(tv18: nn.Module) -> None:
    inferred = infer(read_checkpoint(save(tv18.state_dict(), "state_dict", "module."), "pets.pth"))
    assert inferred.line("zh") == "ResNet-18 结构，37 个类别，捷径 B，来自训练检查点（键 `state_dict`，前缀 `module.`）"


def test_headless_backbone_opens(tv18: nn.Module) -> None:
    sd = {k: v for k, v in tv18.state_dict().items() if not k.startswith("fc.")}
    inferred = infer(read_checkpoint(save(sd, "bare", "backbone."), "backbone.pth"))
    assert inferred.spec.num_classes == 0 and inferred.layout == "resnet18"
    assert (
        inferred.line()
        == "ResNet-18 layout, headless (no classifier), shortcut B, from a state_dict (prefix `backbone.`)"
    )
    body = torchvision.models.resnet18(num_classes=37)
    body.load_state_dict(tv18.state_dict())
    body.fc = nn.Identity()  # torchvision's backbone: the pooled features come out
    same_outputs(load_weights(inferred), body.eval())
    report = trace(inferred.spec)
    assert report.depth == 17 and not any(x.type == "Linear" for x in report.layers)


def test_v1_is_a_choice_and_grayscale_stems_open() -> None:
    torch.manual_seed(0)
    ref = torchvision.models.resnet50()
    ref.conv1 = nn.Conv2d(1, 64, 7, 2, 3, bias=False)  # a grayscale net
    ckpt = Checkpoint("gray.pth", "state_dict", None, "", tensors=ref.state_dict())
    v15, v1 = infer(ckpt), infer(ckpt, variant="v1")
    assert v15.spec == preset("resnet50", in_channels=1) and v1.spec == preset("resnet50", in_channels=1, variant="v1")
    assert v1.layout == "resnet50" and ", v1, " in v1.line() and ", v1.5, " in v15.line()
    # He et al. 2015's v1 strides the first 1x1 of layer2..4's first blocks: 3 x 3/4 of 102,760,448 MACs saved
    assert trace(v15.spec).totals.macs - trace(v1.spec).totals.macs == 3 * (102_760_448 - 102_760_448 // 4)


# -- hand-made CIFAR files, against a forward pass written out from the paper ----------------------------------------
def hand_made(option: str, *, preact: bool = False, bn: bool = True, blocks: int = 2) -> dict[str, Tensor]:
    """A CIFAR ResNet's state_dict (He et al. 2015 §4.2: 3x3 stem of 16, stages of 16, 32, 64) written key by key."""
    gen = torch.Generator().manual_seed(5)
    sd: dict[str, Tensor] = {}

    def conv(name: str, cout: int, cin: int, k: int) -> None:
        sd[f"{name}.weight"] = torch.randn(cout, cin, k, k, generator=gen) * (2 / (cin * k * k)) ** 0.5
        if not bn:
            sd[f"{name}.bias"] = torch.randn(cout, generator=gen) * 0.1

    def norm(name: str, c: int) -> None:
        if bn:
            sd[f"{name}.weight"] = torch.rand(c, generator=gen) + 0.5
            sd[f"{name}.bias"] = torch.randn(c, generator=gen) * 0.1
            sd[f"{name}.running_mean"] = torch.randn(c, generator=gen) * 0.1
            sd[f"{name}.running_var"] = torch.rand(c, generator=gen) + 0.5

    conv("conv1", 16, 3, 3)
    if not preact:
        norm("bn1", 16)  # a pre-activation CIFAR stem leaves its BN-ReLU to the first block
    c = 16
    for s, width in enumerate((16, 32, 64), 1):
        for j in range(blocks):
            p = f"layer{s}.{j}"
            norm(f"{p}.bn1", c if preact else width)
            conv(f"{p}.conv1", width, c, 3)
            norm(f"{p}.bn2", width)
            conv(f"{p}.conv2", width, width, 3)
            if option == "C" or (option == "B" and (c != width or (j == 0 and s > 1))):
                conv(f"{p}.downsample.0", width, c, 1)
                if not preact:
                    norm(f"{p}.downsample.1", width)
            c = width
    if preact:
        norm("post_bn", 64)
    sd["fc.weight"] = torch.randn(10, 64, generator=gen) * 0.1
    sd["fc.bias"] = torch.randn(10, generator=gen) * 0.1
    return sd


def reference_forward(sd: dict[str, Tensor], x: Tensor, *, preact: bool) -> Tensor:
    """He et al. 2015 (post-activation) or 2016 (pre-activation) basic blocks, op by op on the file's tensors."""

    def bn(name: str, h: Tensor) -> Tensor:
        if f"{name}.weight" not in sd:
            return h
        w, b, m, v = (sd[f"{name}.{k}"] for k in ("weight", "bias", "running_mean", "running_var"))
        return F.batch_norm(h, m, v, w, b, training=False, eps=1e-5)

    def conv(name: str, h: Tensor, stride: int = 1) -> Tensor:
        w = sd[f"{name}.weight"]
        return F.conv2d(h, w, sd.get(f"{name}.bias"), stride=stride, padding=w.shape[-1] // 2)

    h = conv("conv1", x)
    if not preact:
        h = F.relu(bn("bn1", h))
    stages = sorted({int(k[5]) for k in sd if k.startswith("layer")})
    for s in stages:
        for j in range(len({k.split(".")[1] for k in sd if k.startswith(f"layer{s}.")})):
            p, stride = f"layer{s}.{j}", 2 if s > 1 and j == 0 else 1
            pre = F.relu(bn(f"{p}.bn1", h)) if preact else h
            if preact:
                out = conv(f"{p}.conv2", F.relu(bn(f"{p}.bn2", conv(f"{p}.conv1", pre, stride))))
            else:
                out = bn(f"{p}.bn2", conv(f"{p}.conv2", F.relu(bn(f"{p}.bn1", conv(f"{p}.conv1", h, stride)))))
            if f"{p}.downsample.0.weight" in sd:  # a projection reads the pre-activated input (He et al. 2016)
                short = bn(f"{p}.downsample.1", conv(f"{p}.downsample.0", pre, stride))
            else:  # identity; option A pads the new channels with zeros
                short = h[:, :, ::stride, ::stride]
                short = F.pad(short, (0, 0, 0, 0, 0, out.shape[1] - short.shape[1]))
            h = out + short if preact else F.relu(out + short)
    if preact:
        h = F.relu(bn("post_bn", h))
    return F.linear(h.mean((2, 3)), sd["fc.weight"], sd["fc.bias"])


@pytest.mark.parametrize(
    ("option", "preact", "bn", "blocks", "layout", "line"),
    [
        ("A", False, True, 3, "resnet20", "ResNet-20 layout, 10 classes, shortcut A, from a state_dict"),
        ("C", False, True, 2, None, "custom basic layout [2, 2, 2], 3×3 CIFAR stem, widths 16-32-64, 10 classes, "
         "shortcut C, from a state_dict"),
        ("B", True, True, 2, None, "custom basic layout [2, 2, 2], 3×3 CIFAR stem, pre-activation, widths 16-32-64, "
         "10 classes, shortcut B, from a state_dict"),
        ("A", True, True, 2, None, "custom basic layout [2, 2, 2], 3×3 CIFAR stem, pre-activation, widths 16-32-64, "
         "10 classes, shortcut A, from a state_dict"),
        ("B", False, False, 2, None, "custom basic layout [2, 2, 2], 3×3 CIFAR stem, no batch norm, widths 16-32-64, "
         "10 classes, shortcut B, from a state_dict"),
    ],
)  # fmt: skip
def test_hand_made_files(option: str, preact: bool, bn: bool, blocks: int, layout: str | None, line: str) -> None:
    sd = hand_made(option, preact=preact, bn=bn, blocks=blocks)
    inferred = infer(read_checkpoint(pth(sd), "cifar.pth"))
    s = inferred.spec
    assert (s.shortcut, s.variant == "preact", s.batch_norm, s.stem, s.layers) == (
        option, preact, bn, "cifar", (blocks,) * 3
    )  # fmt: skip
    assert inferred.layout == layout and inferred.nearest == (layout or "resnet20") and inferred.line() == line
    x = torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        torch.testing.assert_close(load_weights(inferred)(x), reference_forward(sd, x, preact=preact))


def test_class_names() -> None:
    assert read_class_names("\ufeffcat\ndog \n\n".encode(), 2) == ("cat", "dog")
    with pytest.raises(InputError) as e:
        read_class_names(b"cat\ndog\n", 37)
    assert (
        str(e.value) == "The class-names file has 2 names, but the checkpoint has 37 classes; give one name per line."
    )
    with pytest.raises(InputError, match="not UTF-8 text"):
        read_class_names(b"\xff\xfe\x00c", 1)


# -- bad files: one sentence each, in both languages ------------------------------------------------------------------
class Evil:
    ran = False

    def __reduce__(self) -> tuple[Callable[..., object], tuple[object, ...]]:
        return (setattr, (Evil, "ran", True))  # would flip the flag if unpickling ever ran it


def _keys_of(make: Callable[[], nn.Module]) -> dict[str, Tensor]:
    """A net's state_dict names (its tensors shrunk to one number: the names alone show what it is)."""
    with torch.device("meta"):
        names = list(make().state_dict())
    return {k: torch.zeros(1) for k in names}


def _resnet(name: str, edit: Callable[[dict[str, Tensor]], None]) -> bytes:
    torch.manual_seed(0)
    sd = getattr(torchvision.models, name)().state_dict()
    edit(sd)
    return pth(sd)


def _resize(sd: dict[str, Tensor]) -> None:
    for k in ("weight", "bias", "running_mean", "running_var"):
        sd[f"layer2.0.bn1.{k}"] = torch.ones(100)


def _drop(prefix: str) -> Callable[[dict[str, Tensor]], None]:
    def edit(sd: dict[str, Tensor]) -> None:
        for k in [k for k in sd if k.startswith(prefix)]:
            del sd[k]

    return edit


GOOD = pth({"conv1.weight": torch.ones(64, 3, 7, 7)})
BAD: dict[str, tuple[Callable[[], bytes], str, dict[str, object]]] = {
    "whole module": (lambda: pth(nn.Linear(2, 2)), "ckpt_pickled_global", {"what": "torch.nn.modules.linear.Linear"}),
    "code": (lambda: pth({"state_dict": {"x": Evil()}}), "ckpt_pickled_global", {"what": "setattr"}),
    "empty": (lambda: b"", "ckpt_empty", {}),
    "truncated": (lambda: GOOD[: len(GOOD) // 2], "ckpt_truncated", {}),
    "truncated safetensors": (lambda: save_safetensors({"a": torch.ones(9)})[:-5], "ckpt_truncated", {}),
    "text": (lambda: b"epoch,loss\n1,0.52\n", "ckpt_text", {"start": "epoch,loss"}),
    "html": (lambda: b"<!DOCTYPE html>\n<html><body>Sign in</body></html>", "ckpt_html", {"start": "<!DOCTYPE html>"}),
    "vgg": (lambda: pth(_keys_of(torchvision.models.vgg11)), "ckpt_not_resnet", {"key": "features.0.weight"}),
    "vit": (lambda: pth(_keys_of(torchvision.models.vit_b_16)), "ckpt_not_resnet", {"key": "class_token"}),
    "random": (lambda: pth({"alpha": torch.randn(3), "beta": torch.randn(2)}), "ckpt_not_resnet", {"key": "alpha"}),
    "optimizer only": (
        lambda: pth({"epoch": 3, "optimizer": {"lr": 0.1}}), "ckpt_no_state_dict", {"keys": "epoch, optimizer"}
    ),
    "contradicting shapes": (
        lambda: _resnet("resnet18", _resize),
        "ckpt_fit_shape",
        {"key": "layer2.0.bn1.weight", "got": "100", "want": "128"},
    ),
    "stem only": (lambda: GOOD, "ckpt_missing_key", {"key": "layer1.0.conv1.weight"}),
    "missing block": (lambda: _resnet("resnet34", _drop("layer2.1.")), "ckpt_gap", {"missing": "layer2.1"}),
    "missing projection": (
        lambda: _resnet("resnet50", _drop("layer1.0.downsample.")),
        "ckpt_fit_missing",
        {"key": "layer1.0.downsample.0.weight"},
    ),
}  # fmt: skip


@pytest.fixture(scope="module")
def bad_files() -> Iterator[dict[str, bytes]]:
    yield {name: make() for name, (make, _, _) in BAD.items()}


@pytest.mark.parametrize("name", BAD)
def test_every_bad_file_gets_one_sentence(bad_files: dict[str, bytes], name: str) -> None:
    with pytest.raises(InputError) as e:
        infer(read_checkpoint(bad_files[name], "file.pth"))
    _, code, values = BAD[name]
    assert e.value.code == code and {k: e.value.values[k] for k in values} == values
    en, zh = e.value.message("en"), e.value.message("zh")
    for text in (en, zh):
        assert "\n" not in text and "{" not in text and text.endswith((".", "。"))
    assert en != zh and not Evil.ran


def test_the_not_a_resnet_sentence(bad_files: dict[str, bytes]) -> None:
    with pytest.raises(InputError) as e:
        infer(read_checkpoint(bad_files["vgg"], "vgg11.pth"))
    assert str(e.value) == (
        "This is not a ResNet: its key features.0.weight has no place in one (a ResNet has conv1, bn1, layer1… and fc)."
    )
    assert e.value.message("zh").startswith("这不是 ResNet：它的键 features.0.weight")


def test_a_file_over_the_upload_limit() -> None:
    data = pth({"conv1.weight": torch.ones(300_000)})  # 1.1 MB
    with pytest.raises(InputError) as e:
        read_checkpoint(data, "big.pth", limit=2**20)
    assert str(e.value) == "big.pth is 1.1 MB, more than the upload limit of 1.0 MB."
    assert read_checkpoint(data, "big.pth", limit=len(data)).tensors["conv1.weight"].shape == (300_000,)
