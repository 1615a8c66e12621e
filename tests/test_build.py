"""The builder against torchvision (the oracle) and the papers' parameter counts."""

from __future__ import annotations

import pytest
import torch
import torchvision
from torch import nn

from resnet_viz import build, pick_device
from resnet_viz.errors import ResourceError
from resnet_viz.nets.blocks import PadShortcut, ResidualAdd
from resnet_viz.nets.spec import PRESETS, TORCHVISION_PRESETS


# The ResNeXt-101s and Wide ResNet-101-2 take half a minute each here on two cores; tests/test_checkpoint.py checks
# them against torchvision the same way (names, outputs, params), opened from a file.
@pytest.mark.parametrize("name", [n for n in TORCHVISION_PRESETS if "101_" not in n])
def test_names_params_and_outputs_match_torchvision(name: str) -> None:
    torch.manual_seed(0)
    ref = getattr(torchvision.models, name)().eval()
    ours = build(name, device="cpu").eval()
    ref_sd = ref.state_dict()
    assert list(ours.state_dict()) == list(ref_sd)  # same names, same order
    assert sum(p.numel() for p in ours.parameters()) == sum(p.numel() for p in ref.parameters())
    ours.load_state_dict(ref_sd, strict=True)
    x = torch.randn(2, 3, 64, 80)
    with torch.no_grad():
        torch.testing.assert_close(ours(x), ref(x), rtol=1e-4, atol=1e-5)


def test_torchvision_weight_meta_param_counts() -> None:
    # torchvision's own weight tables carry num_params for each ImageNet model.
    w = torchvision.models
    for name, weights in [
        ("resnet18", w.ResNet18_Weights), ("resnet34", w.ResNet34_Weights), ("resnet50", w.ResNet50_Weights),
        ("resnet101", w.ResNet101_Weights), ("resnet152", w.ResNet152_Weights),
        ("resnext50_32x4d", w.ResNeXt50_32X4D_Weights), ("wide_resnet50_2", w.Wide_ResNet50_2_Weights),
        ("resnext101_32x8d", w.ResNeXt101_32X8D_Weights), ("resnext101_64x4d", w.ResNeXt101_64X4D_Weights),
        ("wide_resnet101_2", w.Wide_ResNet101_2_Weights),
    ]:  # fmt: skip
        model = build(name, device="meta")
        assert sum(p.numel() for p in model.parameters()) == weights.IMAGENET1K_V1.meta["num_params"]


# He et al. 2015, Table 6 (CIFAR-10): 0.27M, 0.46M, 0.66M, 0.85M, 1.7M, 19.4M parameters.
CIFAR_TABLE_6 = {
    "resnet20": 0.27,
    "resnet32": 0.46,
    "resnet44": 0.66,
    "resnet56": 0.85,
    "resnet110": 1.7,
    "resnet1202": 19.4,
}


@pytest.mark.parametrize(("name", "millions"), CIFAR_TABLE_6.items())
def test_cifar_params_match_he_2015_table_6(name: str, millions: float) -> None:
    params = sum(p.numel() for p in build(name, device="meta").parameters())
    digits = len(str(millions).split(".")[1])
    assert round(params / 1e6, digits) == millions


def test_resnet20_params_by_hand() -> None:
    # stem 3x3x3x16 + BN; stage1: 3 blocks of two 16->16 convs; stage2: 16->32 then 32->32; stage3 likewise; fc.
    stem = 3 * 16 * 9 + 2 * 16
    s1 = 3 * (2 * 16 * 16 * 9 + 2 * 2 * 16)
    s2 = (16 * 32 * 9 + 32 * 32 * 9 + 2 * 2 * 32) + 2 * (2 * 32 * 32 * 9 + 2 * 2 * 32)
    s3 = (32 * 64 * 9 + 64 * 64 * 9 + 2 * 2 * 64) + 2 * (2 * 64 * 64 * 9 + 2 * 2 * 64)
    fc = 64 * 10 + 10
    assert sum(p.numel() for p in build("resnet20", device="meta").parameters()) == stem + s1 + s2 + s3 + fc == 269_722


def test_preact_params_he_2016() -> None:
    # He et al. 2016 (Identity Mappings) list ResNet-164 at 1.7M and ResNet-1001 at 10.2M parameters; counted
    # exactly (projection shortcuts at each stage's first unit, as there), they are 1.70M and 10.33M, the figures
    # that reimplementations such as bearpaw/pytorch-classification report too.
    for name, millions in (("preact_resnet164", 1.70), ("preact_resnet1001", 10.33)):
        params = sum(p.numel() for p in build(name, device="meta").parameters())
        assert round(params / 1e6, 2) == millions


@pytest.mark.parametrize("name", list(PRESETS))
def test_every_preset_and_its_plain_twin_build(name: str) -> None:
    res = build(name, device="meta")
    plain = build(name, device="meta", plain=True)
    assert any(isinstance(m, ResidualAdd) for m in res.modules())
    assert not any(isinstance(m, (ResidualAdd, PadShortcut)) for m in plain.modules())
    assert not any("downsample" in n for n, _ in plain.named_modules())
    projection = sum(p.numel() for n, p in res.named_parameters() if ".downsample." in n)
    assert sum(p.numel() for p in plain.parameters()) == sum(p.numel() for p in res.parameters()) - projection


def test_plain_twin_output_ignores_the_shortcut() -> None:
    # Ablation: zero every block's last BN; the residual net then passes x through, the plain one outputs zeros.
    res = build("resnet20", device="cpu", zero_init_residual=True).eval()
    plain = build("resnet20", device="cpu", zero_init_residual=True, plain=True).eval()
    plain.load_state_dict(res.state_dict())
    x = torch.randn(1, 3, 32, 32)
    with torch.no_grad():
        stem = res.relu(res.bn1(res.conv1(x)))
        assert torch.equal(res.layer1(stem), stem)  # identity blocks pass the (non-negative) input through
        assert torch.count_nonzero(plain.layer1(stem)) == 0


def test_zero_init_residual_zeroes_last_bn() -> None:
    model = build("resnet50", device="cpu", zero_init_residual=True)
    assert torch.count_nonzero(model.layer1[0].bn3.weight) == 0
    assert torch.count_nonzero(model.layer1[0].bn2.weight) > 0


def test_no_batch_norm_has_conv_bias() -> None:
    model = build("resnet20", device="meta", batch_norm=False)
    assert not any(isinstance(m, nn.BatchNorm2d) for m in model.modules())
    assert model.layer1[0].conv1.bias is not None


def test_memory_guard_refuses_what_will_not_fit() -> None:
    with pytest.raises(ResourceError, match="needs about .* GiB on cpu"):
        build("resnet152", device="cpu", input_size=(4096, 4096), batch_size=64)


def test_device_choice(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RESNET_VIZ_DEVICE", raising=False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert pick_device().type == "cuda"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    assert pick_device().type == "cpu"
    assert pick_device("meta").type == "meta"
    monkeypatch.setenv("RESNET_VIZ_DEVICE", "meta")
    assert pick_device().type == "meta"


def test_seeded_builds_in_threads_start_from_their_seeds() -> None:
    """A lab worker builds nets in several task threads at once; each must get its own seed's weights."""
    from concurrent.futures import ThreadPoolExecutor

    from resnet_viz.nets.resnet import seeded
    from resnet_viz.nets.spec import cifar_spec

    spec = cifar_spec(20)

    def weights(seed: int) -> torch.Tensor:
        with seeded(seed):
            return torch.cat([p.detach().flatten() for p in build(spec, device="cpu").parameters()])

    alone = {s: weights(s) for s in (1, 2)}
    before = torch.random.get_rng_state()
    with ThreadPoolExecutor(4) as pool:
        together = list(pool.map(weights, [1, 2] * 8))
    assert all(torch.equal(w, alone[s]) for w, s in zip(together, [1, 2] * 8))
    assert torch.equal(torch.random.get_rng_state(), before)  # the caller's generator is left as it was
    assert not torch.equal(alone[1], alone[2])
