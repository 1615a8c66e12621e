"""timm's ResNet family as data, against timm (the oracle, test-only): every preset taken from timm's ``resnet`` and
``resnetv2`` modules has timm's state_dict keys and shapes (through the v2 dialect table for v2) and its parameter
count, traced on the meta device; one or two models per family open from a safetensors file with timm's logits; the
new parts are graph nodes with their params and MACs by hand. The whole catalogue: ``python -m benchmarks timm``."""

from __future__ import annotations

import io
from collections.abc import Callable

import pytest
import torch

from resnet_viz.errors import InputError
from resnet_viz.graph.model import hierarchy
from resnet_viz.graph.view import all_open, view
from resnet_viz.nets.attention import eca_kernel, make_divisible
from resnet_viz.nets.build import build
from resnet_viz.nets.checkpoint import Checkpoint, read_checkpoint
from resnet_viz.nets.infer import infer, load_weights
from resnet_viz.nets.spec import preset
from resnet_viz.nets.timm_presets import TIMM_PRESETS
from resnet_viz.nets.timm_v2 import from_timm_v2
from resnet_viz.nets.trace import trace
from resnet_viz.vision.features import capture
from resnet_viz.vision.gradcam import gradcam
from tests.timm_oracle import check, randomized

timm = pytest.importorskip("timm")  # a test dependency (requirements-dev.txt); the app never imports it


def _meta(name: str) -> torch.nn.Module:
    with torch.device("meta"):  # shapes only
        return timm.create_model(name, pretrained=False)


# The deepest (200 to 420 layers) repeat the blocks of their shallower kin: the benchmark opens them all.
@pytest.mark.parametrize("name", [n for n in TIMM_PRESETS if preset(n).depth <= 160])
def test_preset_has_timms_keys_shapes_and_count(name: str) -> None:
    ref = _meta(name)
    sd = ref.state_dict()
    ours = build(name, device="meta").state_dict()
    if name.startswith("resnetv2_"):  # through the dialect table; timm's v2 blocks list their projection first
        assert {k: v.shape for k, v in ours.items()} == {k: v.shape for k, v in from_timm_v2(sd).items()}
    else:  # timm's own names, in its order
        assert [(k, v.shape) for k, v in ours.items()] == [(k, v.shape) for k, v in sd.items()]
    assert sum(v.numel() for v in ours.values() if v.is_floating_point()) == sum(
        v.numel() for v in sd.values() if v.is_floating_point()
    )
    assert sum(p.numel() for p in build(name, device="meta").parameters()) == sum(p.numel() for p in ref.parameters())


# One or two per family, at 64×64: the parts each adds, through the file path (safetensors, strict, logits).
REPRESENTATIVES = [
    "resnet26t",  # tiered deep stem
    "resnet50_gn",  # GroupNorm
    "seresnet18",  # SE on basic blocks
    "seresnext26t_32x4d",  # SE, groups, tiered stem
    "ecaresnet26t",  # ECA
    "ecaresnetlight",  # ECA with a 7x7 stem and ResNet-D projections
    "ecaresnet50d_pruned",  # each block its own widths; ECA's kernels those of the net it was pruned from
    "resnetrs50",  # RS stem conv, SE of 1/4
    "resnetblur18",  # blur pools (a choice: not in the weights)
    "resnetaa34d",  # average-pool anti-aliasing
    "resnetv2_18",  # pre-activation basic blocks, timm's v2 names
    "resnetv2_50x1_bit",  # BiT: StdConv2d, GroupNorm, the fixed stem pool
    "resnetv2_50d_evos",  # EvoNorm-S0
    "resnetv2_50d_frn",  # FRN-TLU
]


@pytest.mark.parametrize("name", REPRESENTATIVES)
def test_timm_file_opens_strictly_with_timms_logits(name: str) -> None:
    outcome = check(timm, name)
    assert outcome.ok, outcome.why


def test_anti_aliasing_is_a_choice_the_weights_cannot_make() -> None:
    torch.manual_seed(0)
    ref = randomized(timm.create_model("resnetaa50", pretrained=False, num_classes=5))
    ckpt = Checkpoint("aa.pth", "state_dict", None, "", tensors=ref.state_dict())
    plain, chosen = infer(ckpt), infer(ckpt, anti_alias="avg")
    assert (plain.layout, chosen.layout) == ("resnet50", "resnetaa50")
    assert "average-pool anti-aliasing (your choice: not in the weights)" in chosen.line()
    x = torch.randn(1, 3, 64, 64, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        want = ref(x)
        torch.testing.assert_close(load_weights(chosen)(x), want, rtol=1e-4, atol=1e-4 * float(want.abs().max()))
        assert not torch.allclose(load_weights(plain)(x), want, atol=1e-2)


def test_a_training_checkpoints_arch_says_its_anti_aliasing() -> None:
    """timm's train.py saves ``arch`` beside the weights: where it names a blur-pooled net, the file says what its
    weights cannot; the reader can still choose otherwise."""
    torch.manual_seed(0)
    ref = randomized(timm.create_model("resnetblur18", pretrained=False, num_classes=5))
    buf = io.BytesIO()
    torch.save({"epoch": 3, "arch": "resnetblur18.bt_in1k", "state_dict": ref.state_dict()}, buf)
    ckpt = read_checkpoint(buf.getvalue(), "blur.pth.tar")
    said, chosen = infer(ckpt), infer(ckpt, anti_alias="none")
    assert (said.layout, chosen.layout) == ("resnetblur18", "resnet18")
    assert "blur-pool anti-aliasing (as its arch, resnetblur18.bt_in1k, says: not in the weights)" in said.line()
    x = torch.randn(1, 3, 64, 64, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        want = ref(x)
        torch.testing.assert_close(load_weights(said)(x), want, rtol=1e-4, atol=1e-4 * float(want.abs().max()))


def test_se_eca_and_blur_nodes_by_hand() -> None:
    r = {x.name: x for x in trace("seresnet50").layers}
    se = r["layer1.0.se"]  # 256 channels squeezed to 256 / 16 = 16 (a multiple of 8)
    assert (se.type, se.input_shape, se.output_shape) == ("SqueezeExcite", (256, 56, 56), (256, 56, 56))
    assert se.params == 256 * 16 + 16 + 16 * 256 + 256 and se.macs == 2 * 256 * 16
    assert r["layer4.0.se"].params == 2048 * 128 + 128 + 128 * 2048 + 2048
    rs = {x.name: x for x in trace("resnetrs50").layers}["layer4.0.se"]  # RS squeezes by 4: 2048 -> 512
    assert make_divisible(2048 * 0.25) == 512 and rs.params == 2048 * 512 + 512 + 512 * 2048 + 2048
    ref = _meta("seresnet50")
    assert se.params == sum(p.numel() for p in ref.layer1[0].se.parameters())
    e = {x.name: x for x in trace("ecaresnet50d").layers}["layer4.2.se"]
    # ECA's kernel for 2048 channels: |log2 2048 + 1| / 2 = 6, to the next odd: 7 (Wang et al. 2020, eq. 12)
    assert eca_kernel(2048) == 7 == _meta("ecaresnet50d").layer4[2].se.conv.kernel_size[0]
    assert (e.type, e.params, e.macs) == ("EfficientChannelAttention", 7, 2048 * 7)
    b = {x.name: x for x in trace("resnetblur50").layers}
    aa = b["layer2.0.aa"]  # the 3x3 conv runs at stride 1; the blur pool strides: 128 x 28 x 28 outputs, 9 taps each
    assert (aa.type, aa.kernel, aa.stride, aa.output_shape, aa.params) == (
        "BlurPool2d",
        (3, 3),
        (2, 2),
        (128, 28, 28),
        0,
    )
    assert aa.macs == 128 * 28 * 28 * 9 and b["layer2.0.conv2"].stride == (1, 1)
    assert [x.type for x in trace("resnetblur50").layers if x.stage == "stem"][-2:] == ["MaxPool2d", "BlurPool2d"]
    assert [x.name for x in trace("resnetrs50").layers if x.stage == "stem"][-3:] == [
        "maxpool.0", "maxpool.1", "maxpool.2"
    ]  # fmt: skip


def test_se_block_opens_in_the_graph_with_its_node() -> None:
    h = hierarchy(trace("seresnet50"))
    closed = next(n for s in view(h, {"layer1"}).segments for n in s.nodes if n.id == "layer1.0")
    assert closed.lines[1] == "Bottleneck · SE"  # a closed block says its attention
    v = view(h, all_open(h))
    node = next(n for s in v.segments for n in s.nodes if n.id == "layer1.0.se")
    assert node.lines[0] == "se · SqueezeExcite" and node.fill == "#fbe0ec"
    ids = v.node_ids()
    assert ids.index("layer1.0.bn3") < ids.index("layer1.0.se") < ids.index("layer1.0.add")


def test_plain_twin_keeps_attention_and_drops_every_shortcut() -> None:
    keys = build(preset("seresnet50", plain=True), device="meta").state_dict()
    assert "layer1.0.se.fc1.weight" in keys and not any(".downsample." in k for k in keys)
    assert trace(preset("seresnet50", plain=True)).totals.params == trace("seresnet50").totals.params - sum(
        x.params for x in trace("seresnet50").layers if x.role == "shortcut"
    )


@pytest.mark.parametrize(
    ("model", "code", "words"),
    [
        ("resnest14d", "ckpt_part_split_attention", "ResNeSt split attention is not supported"),
        ("test_resnet", "ckpt_part_mixed_blocks", "Basic and bottleneck blocks in one net"),
    ],
)
def test_unsupported_parts_are_named(model: str, code: str, words: str) -> None:
    ckpt = Checkpoint(f"{model}.pth", "state_dict", None, "", tensors=_meta(model).state_dict())
    with pytest.raises(InputError) as e:
        infer(ckpt)
    assert e.value.code == code and str(e.value).startswith(words)
    assert "不支持" in e.value.message("zh")


@pytest.mark.parametrize(
    "name", ["seresnet18", "ecaresnet26t", "resnetblur18", "resnetaa34d", "resnet26d", "resnetv2_50d_evos",
             "resnetv2_50d_frn", "resnetv2_50x1_bit", "resnetrs50"],
)  # fmt: skip
def test_traced_shapes_are_a_real_forwards(name: str) -> None:
    """The tracer says the shapes of timm's parts' ops itself (their meta kernels would import sympy): every layer's
    traced output shape is the one a real forward gives, at an odd, non-square size (ceil-mode pools, reflect pads)."""
    size = (66, 98) if name.startswith("resnetaa") else (67, 75)  # below: timm's resnetaa meet odd sizes unevenly
    r = trace(name, input_size=size)
    model = build(name, device="cpu").eval()
    seen: dict[str, tuple[int, ...]] = {}

    def keep(name: str) -> Callable[..., None]:
        def hook(_m: torch.nn.Module, _i: object, out: torch.Tensor) -> None:
            seen.setdefault(name, tuple(out.shape[1:]))

        return hook

    hooks = [m.register_forward_hook(keep(n)) for n, m in model.named_modules() if n]
    try:
        with torch.no_grad():
            model(torch.zeros(1, 3, *size))
    finally:
        for h in hooks:
            h.remove()
    assert [(x.name, x.output_shape) for x in r.layers] == [(x.name, seen[x.name]) for x in r.layers]


def test_an_input_that_splits_a_resnetaa_block_is_refused_in_one_sentence() -> None:
    with torch.no_grad(), pytest.raises(RuntimeError):  # timm's own net cannot take it either
        _real("resnetaa34d")(torch.zeros(1, 3, 67, 75))
    with pytest.raises(InputError) as e:
        trace("resnetaa34d", input_size=(67, 75))
    assert e.value.code == "input_paths_clash" and "use a size divisible by 32" in str(e.value)


def _real(name: str) -> torch.nn.Module:
    return timm.create_model(name, pretrained=False).eval()


def test_feature_maps_and_gradcam_run_on_a_timm_files_own_weights() -> None:
    """The feature page's two calls on an SE net's file: layer4's maps are timm's forward_features, the logits and
    Grad-CAM's score are timm's logits (eval mode)."""
    torch.manual_seed(0)
    ref = randomized(timm.create_model("seresnet18", pretrained=False, num_classes=4))
    model = load_weights(infer(Checkpoint("se.pth", "state_dict", None, "", tensors=ref.state_dict())))
    x = torch.randn(1, 3, 64, 64, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        feats, logits = ref.forward_features(x)[0], ref(x)[0]
    got = capture(model, x)
    layer4 = next(a for a in got.activations if a.name == "layer4")
    torch.testing.assert_close(torch.from_numpy(layer4.values), feats, rtol=1e-4, atol=1e-4 * float(feats.abs().max()))
    torch.testing.assert_close(torch.from_numpy(got.logits), logits, rtol=1e-4, atol=1e-4 * float(logits.abs().max()))
    cam = gradcam(model, x, tap="layer4")
    assert cam.class_index == int(logits.argmax()) and cam.score == pytest.approx(float(logits.max()), rel=1e-4)
