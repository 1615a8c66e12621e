"""Files in other code bases' names open as the same nets, with those code bases as the oracles: Hugging Face
transformers' ResNets (built offline from ResNetConfig), the two CIFAR scripts' modules (written out below from
akamaster/pytorch_resnet_cifar10 and kuangliu/pytorch-cifar), and a torch.compile'd model's state_dict.

Every file opens strictly (``load_state_dict(strict=True)``) and gives the oracle's logits, or its pooled features
for a headless net, on a seeded image in eval mode: |ours - theirs| <= 1e-5 · max|theirs| (the same operations in
the same order; in practice the outputs are equal).
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from safetensors.torch import save as save_safetensors
from torch import Tensor, nn

from resnet_viz.errors import InputError
from resnet_viz.nets.checkpoint import read_checkpoint
from resnet_viz.nets.hf_config import check_config, read_hf_config
from resnet_viz.nets.infer import Inferred, infer, load_weights
from resnet_viz.nets.spec import preset
from resnet_viz.nets.trace import trace
from tests.test_checkpoint import pth, randomized

transformers = pytest.importorskip("transformers")


def same(ours: nn.Module, theirs: Callable[[Tensor], Tensor], size: int) -> None:
    x = torch.randn(2, 3, size, size, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        want = theirs(x)
        got = ours(x)
    torch.testing.assert_close(got, want, rtol=0, atol=1e-5 * float(want.abs().max()))


def opened(data: bytes, name: str, **choices: object) -> tuple[Inferred, nn.Module]:
    inferred = infer(read_checkpoint(data, name), **choices)  # type: ignore[arg-type]
    return inferred, load_weights(inferred)  # load_state_dict(strict=True)


# -- Hugging Face transformers ----------------------------------------------------------------------------------------
HF = {  # microsoft/resnet-18, -50 and -101's configs, with 7 labels in place of ImageNet's 1000
    18: {"layer_type": "basic", "hidden_sizes": [64, 128, 256, 512], "depths": [2, 2, 2, 2]},
    50: {"layer_type": "bottleneck", "hidden_sizes": [256, 512, 1024, 2048], "depths": [3, 4, 6, 3]},
    101: {"layer_type": "bottleneck", "hidden_sizes": [256, 512, 1024, 2048], "depths": [3, 4, 23, 3]},
}
LABELS = {i: f"breed {i}" for i in range(7)}


def hf_model(depth: int, head: bool, **extra: object) -> nn.Module:
    labels = {"id2label": LABELS, "label2id": {v: k for k, v in LABELS.items()}}
    config = transformers.ResNetConfig(**HF[depth], **labels, **extra)
    torch.manual_seed(depth)
    cls = transformers.ResNetForImageClassification if head else transformers.ResNetModel
    return randomized(cls(config))


def hf_output(model: nn.Module) -> Callable[[Tensor], Tensor]:
    if isinstance(model, transformers.ResNetForImageClassification):
        return lambda x: model(pixel_values=x).logits  # (N, 7)
    return lambda x: model(pixel_values=x).pooler_output.flatten(1)  # (N, C): ResNetModel's pooled features


@pytest.mark.parametrize("head", [True, False], ids=["head", "headless"])
@pytest.mark.parametrize("depth", [18, 50, 101])
def test_transformers_resnets_open_in_both_file_forms(depth: int, head: bool, tmp_path: Path) -> None:
    ref = hf_model(depth, head)
    ref.save_pretrained(tmp_path)  # model.safetensors and config.json, as on the Hub
    files = {
        "model.safetensors": (tmp_path / "model.safetensors").read_bytes(),
        "pytorch_model.bin": pth(ref.state_dict()),  # the older form: torch.save of the state_dict
    }
    config = read_hf_config((tmp_path / "config.json").read_bytes())
    for name, data in files.items():
        inferred, ours = opened(data, name, variant=config.variant or "v1.5")
        assert inferred.source.dialect == "transformers"
        assert inferred.spec == preset(f"resnet{depth}", num_classes=7 if head else 0)
        same(ours, hf_output(ref), 64)
        form = "a safetensors file" if name.endswith(".safetensors") else "a state_dict"
        classes = "7 classes" if head else "headless (no classifier)"
        extra = ", v1.5" if depth > 34 else ""
        assert inferred.line() == (
            f"ResNet-{depth} layout, {classes}, shortcut B{extra}, from {form} (Hugging Face transformers layout)"
        )
        assert check_config(config, inferred.spec) == (tuple(LABELS.values()) if head else None)
    assert trace(inferred.spec, input_size=64).totals.params == sum(p.numel() for p in ref.parameters())


def test_transformers_config_says_v1_and_names_in_chinese(tmp_path: Path) -> None:
    ref = hf_model(50, True, downsample_in_bottleneck=True)  # the stride on the first 1x1: He et al. 2015's v1
    ref.save_pretrained(tmp_path)
    config = read_hf_config((tmp_path / "config.json").read_bytes())
    assert config.variant == "v1" and config.class_names == tuple(LABELS.values())
    inferred, ours = opened((tmp_path / "model.safetensors").read_bytes(), "model.safetensors", variant="v1")
    same(ours, hf_output(ref), 64)
    assert inferred.line("zh") == (
        "ResNet-50 结构，7 个类别，捷径 B，v1，来自safetensors 文件（Hugging Face transformers 结构）"
    )


@pytest.mark.parametrize(
    ("text", "sentence"),
    [
        (b'{"id2label": {"0": "cat",}', "The config file is not a transformers config.json (line 1: Expecting "
         "property name enclosed in double quotes); give the config.json saved beside the weights, or none."),
        (b'{"model_type": "vit"}', "The config file is not a transformers config.json (model_type 'vit', not "
         "'resnet'); give the config.json saved beside the weights, or none."),
        (b'{"downsample_in_first_stage": true}', "This transformers ResNet downsamples in its first stage "
         "(downsample_in_first_stage), which is not supported."),
        (b'{"hidden_act": "gelu"}', "This transformers ResNet uses the gelu activation, which is not supported "
         "(only relu is)."),
        (b'{"id2label": {"1": "cat"}}', "The config file is not a transformers config.json (id2label's indices are "
         "not 0 … N-1); give the config.json saved beside the weights, or none."),
    ],
)  # fmt: skip
def test_a_bad_config_is_one_sentence(text: bytes, sentence: str) -> None:
    with pytest.raises(InputError) as e:
        read_hf_config(text)
    assert str(e.value) == sentence and e.value.message("zh") != sentence


def test_config_labels_must_be_one_per_class() -> None:
    config = read_hf_config(json.dumps({"id2label": {"0": "cat", "1": "dog"}}).encode())
    with pytest.raises(InputError, match="^The config's id2label has 2 class names, but the checkpoint has 10 classes"):
        check_config(config, preset("resnet20"))


# -- akamaster/pytorch_resnet_cifar10 (resnet.py), written out: option A pads planes // 4 channels on each side -----
class LambdaLayer(nn.Module):
    def __init__(self, fn: Callable[[Tensor], Tensor]) -> None:
        super().__init__()
        self.fn = fn

    def forward(self, x: Tensor) -> Tensor:
        return self.fn(x)


class AkaBlock(nn.Module):
    def __init__(self, in_planes: int, planes: int, stride: int, option: str) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_planes, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.plain = option == "none"
        self.shortcut: nn.Module = nn.Sequential()
        if stride != 1 or in_planes != planes:
            if option == "A":
                pad = planes // 4
                self.shortcut = LambdaLayer(lambda x: F.pad(x[:, :, ::2, ::2], (0, 0, 0, 0, pad, pad), "constant", 0))
            elif option == "B":
                self.shortcut = nn.Sequential(
                    nn.Conv2d(in_planes, planes, 1, stride, bias=False), nn.BatchNorm2d(planes)
                )

    def forward(self, x: Tensor) -> Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        if not self.plain:
            out = out + self.shortcut(x)
        return F.relu(out)


class AkaResNet(nn.Module):
    def __init__(self, n: int, option: str = "A", num_classes: int = 10) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 16, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        c, stages = 16, []
        for planes, stride in ((16, 1), (32, 2), (64, 2)):
            blocks = []
            for j in range(n):
                blocks.append(AkaBlock(c, planes, stride if j == 0 else 1, option))
                c = planes
            stages.append(nn.Sequential(*blocks))
        self.layer1, self.layer2, self.layer3 = stages
        self.linear = nn.Linear(64, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.layer3(self.layer2(self.layer1(out)))
        out = F.avg_pool2d(out, out.size()[3])
        return self.linear(out.view(out.size(0), -1))


def akamaster_file(model: nn.Module) -> bytes:
    """As its trainer.py saves: DataParallel's state_dict under 'state_dict', beside the epoch and best precision."""
    wrapped = nn.DataParallel(model)  # on the CPU a plain wrapper: the keys gain `module.`
    return pth({"epoch": 200, "state_dict": wrapped.state_dict(), "best_prec1": 91.7})


@pytest.mark.parametrize("depth", [20, 32])
def test_akamaster_option_a_th_file(depth: int) -> None:
    torch.manual_seed(depth)
    ref = randomized(AkaResNet((depth - 2) // 6))
    inferred, ours = opened(akamaster_file(ref), f"resnet{depth}-12fca82f.th")
    assert inferred.spec == preset(f"resnet{depth}") and inferred.layout == f"resnet{depth}"
    assert inferred.line() == (
        f"ResNet-{depth} layout, 10 classes, shortcut A, from a training checkpoint (CIFAR script layout, "
        "akamaster's pytorch_resnet_cifar10, key `state_dict`, prefix `module.`)"
    )
    same(ours, ref, 32)


def test_akamaster_file_as_a_plain_net() -> None:
    """Option A and plain nets have the same tensors: read as plain, the file is the net without shortcuts."""
    torch.manual_seed(3)
    ref = randomized(AkaResNet(3, option="none"))
    inferred, ours = opened(akamaster_file(ref), "plain20.th", plain=True)
    assert inferred.spec == preset("resnet20", plain=True) and inferred.layout == "resnet20"
    assert ", no shortcuts (a plain net), " in inferred.line()
    assert "，无捷径（普通网络），" in inferred.line("zh")
    same(ours, ref, 32)


# -- kuangliu/pytorch-cifar (models/resnet.py), written out: ImageNet widths on a 3x3 stem, no max-pool -------------
class KuangBasic(nn.Module):
    expansion = 1

    def __init__(self, in_planes: int, planes: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_planes, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.shortcut = _kuang_shortcut(in_planes, planes, stride)

    def forward(self, x: Tensor) -> Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.shortcut(x))


class KuangBottleneck(nn.Module):
    expansion = 4

    def __init__(self, in_planes: int, planes: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_planes, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, 4 * planes, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(4 * planes)
        self.shortcut = _kuang_shortcut(in_planes, 4 * planes, stride)

    def forward(self, x: Tensor) -> Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = F.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return F.relu(out + self.shortcut(x))


def _kuang_shortcut(in_planes: int, out: int, stride: int) -> nn.Sequential:
    if stride != 1 or in_planes != out:
        return nn.Sequential(nn.Conv2d(in_planes, out, 1, stride, bias=False), nn.BatchNorm2d(out))
    return nn.Sequential()


class KuangResNet(nn.Module):
    def __init__(self, block: type[KuangBasic | KuangBottleneck], num_blocks: list[int], num_classes: int = 10) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        c, stages = 64, []
        for planes, n, stride in zip((64, 128, 256, 512), num_blocks, (1, 2, 2, 2)):
            blocks = []
            for j in range(n):
                blocks.append(block(c, planes, stride if j == 0 else 1))
                c = planes * block.expansion
            stages.append(nn.Sequential(*blocks))
        self.layer1, self.layer2, self.layer3, self.layer4 = stages
        self.linear = nn.Linear(c, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.layer4(self.layer3(self.layer2(self.layer1(out))))
        out = F.avg_pool2d(out, 4)  # (N, C, 1, 1) at 32x32
        return self.linear(out.view(out.size(0), -1))


@pytest.mark.parametrize(
    ("name", "block", "blocks", "arch"),
    [("ResNet18", KuangBasic, [2, 2, 2, 2], "resnet18"), ("ResNet50", KuangBottleneck, [3, 4, 6, 3], "resnet50")],
)
def test_kuangliu_net_file(name: str, block: type[KuangBasic | KuangBottleneck], blocks: list[int], arch: str) -> None:
    torch.manual_seed(7)
    ref = randomized(KuangResNet(block, blocks))
    inferred, ours = opened(pth({"net": ref.state_dict(), "acc": 95.2, "epoch": 180}), "ckpt.pth")
    want = preset(arch, stem="cifar", num_classes=10)  # ImageNet's widths on the CIFAR stem: a custom layout
    assert inferred.spec == want.replace(name="custom") and inferred.layout is None
    assert inferred.source.key == "net" and inferred.source.dialect == "cifar_kuangliu"
    assert inferred.line().endswith(
        "10 classes, shortcut B" + (", v1.5" if block is KuangBottleneck else "")
        + ", from a training checkpoint (CIFAR script layout, kuangliu's pytorch-cifar, key `net`)"
    )  # fmt: skip
    same(ours, ref, 32)


# -- torch.compile ----------------------------------------------------------------------------------------------------
def test_a_compiled_models_state_dict() -> None:
    import torchvision

    torch.manual_seed(0)
    ref = randomized(torchvision.models.resnet18(num_classes=5))
    compiled = torch.compile(ref)  # compiles on the first call only: its state_dict is there at once
    assert isinstance(compiled, nn.Module)
    sd = compiled.state_dict()
    assert all(k.startswith("_orig_mod.") for k in sd)
    for data, name in ((pth(sd), "compiled.pt"), (save_safetensors(dict(sd)), "compiled.safetensors")):
        inferred, ours = opened(data, name)
        assert inferred.source.prefix == "_orig_mod." and inferred.spec == preset("resnet18", num_classes=5)
        same(ours, ref, 48)


# -- parts no dialect maps are named -----------------------------------------------------------------------------------
def _timm_keys(name: str) -> bytes:
    timm = pytest.importorskip("timm")
    with torch.device("meta"):
        names = list(timm.create_model(name, pretrained=False).state_dict())
    return pth({k: torch.zeros(1) for k in names})


@pytest.mark.parametrize(
    ("model", "sentence"),
    [
        ("resnest14d", "ResNeSt split attention is not supported: layer1.0.conv2.bn0.weight belongs to it (timm's "
         "resnest*)."),
        ("skresnet18", "Selective-kernel convolutions (SKNet) are not supported: layer1.0.conv1.paths.0.conv.weight "
         "belongs to one."),
        ("res2net50_26w_4s", "Res2Net's multi-scale blocks are not supported (key layer1.0.convs.0.weight): it is a "
         "ResNet whose 3×3 convolution is split into scales."),
        ("cspresnet50", "Cross-stage partial (CSP) stages are not supported (key stages.0.conv_exp.conv.weight): it is "
         "a ResNet whose stages split their channels."),
    ],
)  # fmt: skip
def test_an_unsupported_part_is_named(model: str, sentence: str) -> None:
    with pytest.raises(InputError) as e:
        infer(read_checkpoint(_timm_keys(model), f"{model}.pth"))
    assert str(e.value) == sentence and e.value.message("zh") != sentence  # said in Chinese too


def test_a_file_read_twice_is_read_the_same(tmp_path: Path) -> None:
    """The dialect is chosen from the keys alone: a key order or a file form changes nothing."""
    torch.manual_seed(20)
    ref = randomized(AkaResNet(3))
    sd = nn.DataParallel(ref).state_dict()
    backwards = dict(reversed(list(sd.items())))
    a, b = (read_checkpoint(pth(x), "x.th") for x in (sd, backwards))
    assert a.dialect == b.dialect == "cifar_akamaster"
    assert all(torch.equal(a.tensors[k], b.tensors[k]) for k in a.tensors)
    buf = io.BytesIO()
    torch.save(sd, buf)
    assert read_checkpoint(buf.getvalue(), "x.th").shapes == a.shapes


def test_a_lightning_file_keeps_only_the_weights() -> None:
    """A Lightning checkpoint as Trainer.save_checkpoint writes it: the model's state_dict (a LightningModule holding
    the net as `model`) beside the optimizer's momentum, loops, callbacks and hyper-parameters: only the weights
    stay."""
    import torchvision

    torch.manual_seed(8)
    ref = randomized(torchvision.models.resnet18(num_classes=3))
    sd = ref.state_dict()
    data = pth(
        {
            "epoch": 4,
            "global_step": 400,
            "pytorch-lightning_version": "2.5.0",
            "state_dict": {f"model.{k}": v for k, v in sd.items()},
            "loops": {"fit_loop": {"state_dict": {}, "epoch_progress": {"total": {"ready": 5}}}},
            "callbacks": {"ModelCheckpoint{'monitor': 'val_loss'}": {"best_model_score": torch.tensor(0.3)}},
            "optimizer_states": [
                {"state": {i: {"momentum_buffer": torch.randn_like(v)} for i, v in enumerate(ref.parameters())}}
            ],
            "lr_schedulers": [{"last_epoch": 4, "_last_lr": [0.1]}],
            "hparams_name": "kwargs",
            "hyper_parameters": {"lr": 0.1, "arch": "resnet18"},
        }
    )
    inferred, ours = opened(data, "epoch=4-step=400.ckpt")
    ckpt = inferred.source
    assert (ckpt.key, ckpt.prefix, ckpt.dialect) == ("state_dict", "model.", "torchvision")
    assert sorted(ckpt.tensors) == sorted(sd)  # the optimizer's momentum is not kept
    assert ckpt.nbytes == sum(v.numel() * v.element_size() for v in sd.values())
    same(ours, ref, 48)
