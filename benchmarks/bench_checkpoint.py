"""My checkpoint on a live server: its memory with 1 and 3 sessions opening the same file, and the time from an upload
to the net's graph drawn, against the same net picked as a preset (issue 24).

Memory, as the issue measured it: a fresh server (CPU 0) with 3 sessions on the explorer in My checkpoint
(Chromium, CPU 1), then each session in turn opens the same Lightning-style file: ResNet-50's state_dict under
`state_dict` with Lightning's `model.` prefix, plus SGD momentum buffers as `optimizer_states` (about 200 MB). The
resident memory of the server process (psutil) after the 3 sessions are open, after the first has opened the file,
after each of the others: the extra memory against the file's weights (ResNet-50's 102 MB state_dict). Streamlit
itself keeps each session's uploaded bytes in memory for the session's life (and 120 s more, for a reconnect); the
rest is the app's own share: the file's tensors held once, by the pool.

Time: from a loaded Home page in My checkpoint with no file (no graph), either the upload of ResNet-50's bare
state_dict (about 100 MB; another seed each try, so no try finds it open already) or a click on Preset (ResNet-50
is the default preset), to the first animation frame with ResNet-50's graph drawn. The two arms alternate in
fresh browser contexts on one server; each figure is the median of $BENCH_CHECKPOINT_TRIES (3).
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import psutil
import torch
import torchvision

from .bench_graph import ARGS, LIMIT_MS, ROOT, VIEWPORT, chromium, served
from .bench_launch import CHROMIUM, GRAPH

TRIES = int(os.environ.get("BENCH_CHECKPOINT_TRIES", "3"))
UPLOAD = '.st-key-ckpt_file input[type="file"]'
LINE = "ResNet-50 layout, 1000 classes"  # the sidebar's line once the file is read


def _resnet50(seed: int) -> dict[str, torch.Tensor]:
    torch.manual_seed(seed)
    return torchvision.models.resnet50().state_dict()


def _files(tmp: Path) -> tuple[Path, list[Path], int]:
    """The Lightning file, one bare state_dict per try, and the weights' bytes."""
    sd = _resnet50(0)
    weights = sum(v.numel() * v.element_size() for v in sd.values())
    lightning = tmp / "lightning.ckpt"
    momentum = {i: {"momentum_buffer": torch.randn_like(v)} for i, v in enumerate(sd.values()) if v.is_floating_point()}
    torch.save(
        {
            "epoch": 9,
            "global_step": 9000,
            "state_dict": {f"model.{k}": v for k, v in sd.items()},
            "optimizer_states": [{"state": momentum, "param_groups": [{"lr": 0.1, "momentum": 0.9}]}],
        },
        lightning,
    )
    bare = []
    for i in range(TRIES):
        path = tmp / f"resnet50_{i}.pth"
        torch.save(_resnet50(100 + i), path)
        bare.append(path)
    return lightning, bare, weights


def _idle(page: Any) -> None:
    page.wait_for_function("() => document.querySelector('[data-testid=\"stStatusWidget\"]') === null")


def _open(browser: Any, url: str) -> tuple[Any, Any]:
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    page.set_default_timeout(LIMIT_MS)
    page.goto(url)
    page.wait_for_selector(".st-key-ckpt_file")
    _idle(page)
    return context, page


def _upload(page: Any, path: Path) -> None:
    page.locator(UPLOAD).set_input_files(str(path))
    page.wait_for_function(f"() => document.body.innerText.includes({LINE!r})")
    _idle(page)


def _rss(proc: psutil.Process) -> float:
    time.sleep(3)  # let the server settle (a rerun's garbage freed)
    return proc.memory_info().rss / 2**20


def _memory(browser: Any, url: str, server: psutil.Process, lightning: Path) -> dict[int, float]:
    """Server RSS (MiB) by the number of sessions that have opened the file (0: all 3 on the explorer, none yet)."""
    pages = [_open(browser, f"{url}/architecture?net_mode=checkpoint") for _ in range(3)]
    out = {0: _rss(server)}
    try:
        for i, (_, page) in enumerate(pages, 1):
            _upload(page, lightning)
            out[i] = _rss(server)
    finally:
        for context, _ in pages:
            context.close()
    return out


def _to_graph(browser: Any, url: str, act: Any) -> float:
    """Seconds from ``act(page)`` on Home in My checkpoint with no file to ResNet-50's graph drawn."""
    context, page = _open(browser, f"{url}/?net_mode=checkpoint")
    try:
        start = page.evaluate("Date.now()")
        act(page)
        drawn = page.wait_for_function(GRAPH, arg="layer4", polling="raf", timeout=LIMIT_MS).json_value()
        return float(drawn - start) / 1000
    finally:
        context.close()


def main() -> None:
    if not Path(CHROMIUM).exists():
        print(f"skipped: {CHROMIUM} is missing (apt-get install chromium)")
        return
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="bench-checkpoint-") as tmp_name:
        tmp = Path(tmp_name)
        lightning, bare, weights = _files(tmp)
        with served(ROOT) as (proc, url), sync_playwright() as p:
            server = psutil.Process(proc.pid)
            browser = p.chromium.launch(executable_path=chromium(tmp), headless=True, args=ARGS)
            try:
                memory = _memory(browser, url, server, lightning)
                times: dict[str, list[float]] = {"preset": [], "upload": []}
                for i in range(TRIES):
                    preset = _to_graph(
                        browser, url, lambda pg: pg.locator(".st-key-net_mode").get_by_text("Preset").click()
                    )
                    upload = _to_graph(browser, url, lambda pg, f=bare[i]: pg.locator(UPLOAD).set_input_files(str(f)))
                    times["preset"].append(preset)
                    times["upload"].append(upload)
                    print(f"try {i + 1}: preset {preset:.2f} s, upload {upload:.2f} s", flush=True)
            finally:
                browser.close()
        sizes = {"lightning": lightning.stat().st_size / 2**20, "bare": bare[0].stat().st_size / 2**20}

    mb = weights / 2**20
    print(f"\nResNet-50's weights {mb:.1f} MiB; the Lightning file {sizes['lightning']:.1f} MiB (weights and momentum)")
    # Streamlit keeps every session's upload in memory (its uploaded-file manager) for the session's life: the file's
    # bytes once per session, beyond the app's reach; what is left is the app's own share
    print("server RSS (MiB) with 3 sessions on the explorer, as 0, 1, 2, 3 of them open the file:")
    print(f"  {'opened':>6}{'RSS':>8}{'extra':>8}{'x weights':>11}{'uploads':>9}{'app':>7}{'app x weights':>15}")
    for n, rss in memory.items():
        extra, uploads = rss - memory[0], n * sizes["lightning"]
        app = extra - uploads
        print(f"  {n:>6}{rss:8.0f}{extra:+8.0f}{extra / mb:11.2f}{uploads:9.0f}{app:+7.0f}{app / mb:15.2f}")
    pre, up = statistics.median(times["preset"]), statistics.median(times["upload"])
    print(f"\nto ResNet-50's graph drawn on Home, median of {TRIES}:")
    print(f"  picked as a preset            {pre:6.2f} s")
    print(f"  uploaded ({sizes['bare']:.0f} MiB state_dict)   {up:6.2f} s   ({up / pre:.1f}x the preset)")


if __name__ == "__main__":
    main()
