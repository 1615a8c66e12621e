"""My checkpoint in Chromium: upload a ResNet-50-D training checkpoint (timm's names, random weights) in the sidebar,
read the inferred line and the totals, in English and Chinese."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch

from resnet_viz import build, trace
from resnet_viz.nets.spec import preset
from tests.conftest import wait_idle
from tests.test_checkpoint import save

pytestmark = pytest.mark.browser


def _main_has(page: Any, text: str) -> None:
    page.wait_for_function(
        f"() => document.querySelector('[data-testid=\"stApp\"]').innerText.includes({text!r})", timeout=120_000
    )


def _metric(page: Any, label: str) -> str:
    """The value of the st.metric labelled ``label`` on the page (exactly one has it)."""
    metric = page.locator('[data-testid="stMetric"]').filter(
        has=page.locator('[data-testid="stMetricLabel"]', has_text=label)
    )
    metric.first.wait_for(timeout=120_000)
    assert metric.count() == 1
    return str(metric.locator('[data-testid="stMetricValue"]').inner_text()).strip()


def test_upload_a_checkpoint_and_read_its_line_and_totals(
    page: Any, app_url: str, artifacts: Path, tmp_path: Path
) -> None:
    spec = preset("resnet50d", num_classes=100)
    with torch.random.fork_rng():
        torch.manual_seed(0)
        sd = build(spec, device="cpu").state_dict()  # the names and shapes of timm's resnet50d (tests/test_timm.py)
    path = tmp_path / "flowers_r50d.pth"
    path.write_bytes(save(sd, "ema", "module."))
    report = trace(spec)

    page.goto(f"{app_url}/?net_mode=checkpoint")
    page.wait_for_selector(".st-key-ckpt_file", timeout=120_000)
    wait_idle(page, 120)
    _main_has(page, "Upload a checkpoint in the sidebar")
    page.locator('.st-key-ckpt_file input[type="file"]').set_input_files(str(path))
    # the backticks around the key and the prefix are drawn as code, without them
    line = "ResNet-50-D layout, 100 classes, shortcut B, v1.5, from a training checkpoint (key ema, prefix module.)"
    _main_has(page, line)
    wait_idle(page, 120)
    _main_has(page, f"{report.totals.params / 1e6:.2f} M")
    # each total read from its own metric: the value under its label
    assert _metric(page, "Depth") == "52"  # three stem convs, 16 blocks of three, the classifier
    assert _metric(page, "Parameters") == f"{report.totals.params / 1e6:.2f} M"
    assert _metric(page, "MACs") == f"{report.totals.macs / 1e9:.2f} G"
    assert page.locator('[data-testid="stException"]').count() == 0
    page.screenshot(path=str(artifacts / "checkpoint_en.png"), full_page=True)

    page.locator('.st-key-lang[data-stale="false"]').click()
    page.get_by_role("option", name="简体中文").click()
    _main_has(page, "ResNet-50-D 结构，100 个类别，捷径 B，v1.5，来自训练检查点")
    wait_idle(page, 120)
    assert page.locator('[data-testid="stException"]').count() == 0
    page.screenshot(path=str(artifacts / "checkpoint_zh.png"), full_page=True)


def test_a_cifar_th_file_and_its_feature_maps_in_both_languages(
    page: Any, app_url: str, artifacts: Path, tmp_path: Path
) -> None:
    """akamaster's ResNet-20 training file (`.th`, option A): its line, then its own feature maps and top-5."""
    from tests.test_checkpoint import randomized
    from tests.test_dialects import AkaResNet, akamaster_file

    torch.manual_seed(20)
    path = tmp_path / "resnet20-12fca82f.th"
    path.write_bytes(akamaster_file(randomized(AkaResNet(3))))
    page.goto(f"{app_url}/?net_mode=checkpoint")
    page.wait_for_selector(".st-key-ckpt_file", timeout=120_000)
    wait_idle(page, 120)
    page.locator('.st-key-ckpt_file input[type="file"]').set_input_files(str(path))
    _main_has(page, "ResNet-20 layout, 10 classes, shortcut A, from a training checkpoint (CIFAR script layout")
    wait_idle(page, 120)
    assert _metric(page, "Depth") == "20"
    page.locator('[data-testid="stSidebarNav"] a[href$="/feature-maps"]').click()
    page.wait_for_url("**/feature-maps**")
    _main_has(page, "Weights from your checkpoint resnet20-12fca82f.th")
    _main_has(page, "Top-5 classes")
    wait_idle(page, 120)
    assert page.locator('[data-testid="stException"]').count() == 0
    page.screenshot(path=str(artifacts / "checkpoint_th_features_en.png"), full_page=True)
    page.locator('.st-key-lang[data-stale="false"]').click()
    page.get_by_role("option", name="简体中文").click()
    _main_has(page, "CIFAR 脚本结构")
    wait_idle(page, 120)
    assert page.locator('[data-testid="stException"]').count() == 0
    page.screenshot(path=str(artifacts / "checkpoint_th_features_zh.png"), full_page=True)


def test_a_transformers_file_with_its_config_in_both_languages(
    page: Any, app_url: str, artifacts: Path, tmp_path: Path
) -> None:
    """A Hugging Face ResNet-50 as save_pretrained writes it (model.safetensors and config.json): its line, and the
    totals of torchvision's ResNet-50 with its 7 classes."""
    pytest.importorskip("transformers")
    from tests.test_dialects import hf_model

    hf_model(50, True).save_pretrained(tmp_path)
    report = trace(preset("resnet50", num_classes=7))
    page.goto(f"{app_url}/?net_mode=checkpoint")
    page.wait_for_selector(".st-key-ckpt_file", timeout=120_000)
    wait_idle(page, 120)
    page.locator('.st-key-ckpt_file input[type="file"]').set_input_files(str(tmp_path / "model.safetensors"))
    _main_has(page, "ResNet-50 layout, 7 classes, shortcut B, v1.5, from a safetensors file (Hugging Face transformers")
    page.locator('.st-key-ckpt_config input[type="file"]').set_input_files(str(tmp_path / "config.json"))
    wait_idle(page, 120)
    assert _metric(page, "Parameters") == f"{report.totals.params / 1e6:.2f} M"
    assert page.locator('[data-testid="stException"]').count() == 0
    page.wait_for_selector(".echarts-container canvas", timeout=120_000)  # its graph drawn, for the screenshot
    wait_idle(page, 120)
    page.screenshot(path=str(artifacts / "checkpoint_transformers_en.png"), full_page=True)
    page.locator('.st-key-lang[data-stale="false"]').click()
    page.get_by_role("option", name="简体中文").click()
    _main_has(page, "ResNet-50 结构，7 个类别，捷径 B，v1.5，来自safetensors 文件（Hugging Face transformers 结构）")
    wait_idle(page, 120)
    assert page.locator('[data-testid="stException"]').count() == 0
    page.wait_for_selector(".echarts-container canvas", timeout=120_000)
    wait_idle(page, 120)
    page.screenshot(path=str(artifacts / "checkpoint_transformers_zh.png"), full_page=True)
