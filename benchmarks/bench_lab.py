"""The gradient lab as a service, end to end in Chromium, against a bare PyTorch loop in the same run (issue 9).

- bare: this process trains ResNet-56 and plain-56 (the lab's defaults: batch 32, warm-up, clipping) on the same
  batches, one after the other, with every core: pair-steps per second.
- one session presses Start; four sessions press Start on the same settings (they share one run); three
  sessions with different seeds (three runs). A session's rate is the "Step N" its page shows, read in the
  browser over a window; its refresh gap is the longest time that text went without changing.
The sessions run in the classroom model (issue 23): the app with its engine's workers on CPU 0 and Chromium on
CPU 1 (``taskset``, as bench_graph), since a class's browsers run on the students' machines; the baseline for
these arms is the bare loop on CPU 0 alone, measured in the same run. The three-runs arm also reads each page's
step 20 s after Start: with runs taking turns, every student sees steps from the start (issue 23 targets: each run
at least 0.25x the bare loop, together at least 0.8x).
Each scenario also reports where the cores went (CPU time of the web server with its in-process Dask
scheduler, its worker processes, and Chromium over the window): on this machine the browsers share the two
cores with training, where a classroom's browsers run on the students' own machines.
Also the bare loop in channels-last memory format (the layout the lab's CPU workers train in), compiled with
``torch.compile`` (inductor; compile time not counted), and at batch 64 (images per second against batch 32's),
to report what each gives on this machine.
"""

from __future__ import annotations

import dataclasses
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import psutil
import torch
import torch.nn.functional as F

from resnet_viz.lab.cores import usable_cores
from resnet_viz.lab.data import batches, synthetic
from resnet_viz.lab.defaults import DEFAULT
from resnet_viz.lab.engine import Engine
from resnet_viz.lab.runs import start_run
from resnet_viz.lab.store import RunStore
from resnet_viz.nets.build import build

from .bench_explorer import ARGS, CHROMIUM
from .bench_graph import ROOT, _pin, chromium, served

WINDOW_S = float(os.environ.get("BENCH_LAB_WINDOW_S", "45"))
_STEP = re.compile(r"Step (\d+) of (\d+) · [^·]+ · (?:running|训练中)")  # the new run, not the reference


def bare(seconds: float, *, channels_last: bool = False, compiled: bool = False, batch_size: int = 0) -> float:
    """Pair-steps per second of a plain loop training both default nets on identical batches."""
    torch.set_num_threads(usable_cores())
    data = synthetic(seed=1)
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    nets: list[tuple[Any, torch.optim.Optimizer]] = []
    for spec in DEFAULT.specs().values():
        torch.manual_seed(1)
        model = build(spec, device="cpu").to(memory_format=fmt)
        opt = torch.optim.SGD(model.parameters(), lr=DEFAULT.lr, momentum=0.9, weight_decay=1e-4)
        nets.append((torch.compile(model) if compiled else model, opt))
    feed = batches(data, batch_size or DEFAULT.batch_size, seed=1)

    def step() -> None:
        x, y = next(feed)
        x = x.contiguous(memory_format=fmt)
        for model, opt in nets:
            opt.zero_grad(set_to_none=True)
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), DEFAULT.clip)
            opt.step()
            loss.item()

    for _ in range(3):
        step()
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        step()
        n += 1
    return n / (time.perf_counter() - t0)


def engine_only(seconds: float, seed: int = 100) -> float:
    """Pair-steps per second of a run through the lab's engine and store with no browser and no web server (as
    `gradflow` runs one): the engine's own cost against the bare loop, apart from the page's."""
    with tempfile.TemporaryDirectory() as tmp:
        store = RunStore(f"sqlite:///{tmp}/lab.sqlite")
        engine = Engine("")
        try:
            rid = start_run(store, engine, dataclasses.replace(DEFAULT, seed=seed), origin="cli")
            while store.get(rid).step < 3:  # the workers have started and both nets train
                time.sleep(0.2)
            s0, t0 = store.get(rid).step, time.monotonic()
            time.sleep(seconds)
            s1, t1 = store.get(rid).step, time.monotonic()
            store.set_status(rid, "stopped")
            return (s1 - s0) / (t1 - t0)
        finally:
            engine.close()
            store.close()


def _open(browser: Any, url: str, seed: int) -> Any:
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.set_default_timeout(180_000)
    page.goto(f"{url}/gradient-lab")
    page.get_by_role("button", name="Start").wait_for()
    seed_box = page.get_by_label("Seed")
    seed_box.fill(str(seed))
    seed_box.press("Enter")
    page.wait_for_timeout(1500)
    return page


def _step(page: Any) -> int:
    """The step the page shows for a training run (-1 while it shows none, or a finished one)."""
    m = _STEP.search(page.inner_text('[data-testid="stMain"]'))
    return int(m.group(1)) if m else -1


def _started(pages: list[Any]) -> None:
    deadline = time.monotonic() + 300
    while min(_step(p) for p in pages) < 3:  # the engine has started and both nets train
        if time.monotonic() > deadline:
            raise RuntimeError("the run never started")
        time.sleep(0.5)


def _watch(pages: list[Any], seconds: float) -> list[tuple[float, float]]:
    """Each page's (pair-steps per second shown, longest gap between two changes of its step text)."""
    first = [(time.monotonic(), _step(p)) for p in pages]
    last = list(first)
    gaps = [0.0] * len(pages)
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        for i, p in enumerate(pages):
            s, now = _step(p), time.monotonic()
            if s > last[i][1]:
                gaps[i] = max(gaps[i], now - last[i][0])
                last[i] = (now, s)
        time.sleep(0.2)
    return [((lt[1] - f[1]) / (lt[0] - f[0]) if lt[0] > f[0] else 0.0, g) for f, lt, g in zip(first, last, gaps)]


def _stop(pages: list[Any]) -> None:
    for p in pages:
        stop = p.get_by_role("button", name="Stop")
        if stop.is_enabled():  # not when the run stopped already: the others left it unwatched for LIVE_S
            stop.click()
            p.wait_for_timeout(500)
        p.close()


def _cpu(server: subprocess.Popen[bytes]) -> dict[str, float]:
    """CPU seconds used so far by the web server, its child processes (the engine's workers) and Chromium (this
    benchmark's own: started through Playwright by this process, not other browsers on a shared machine)."""

    def used(p: psutil.Process) -> float:
        try:
            t = p.cpu_times()
            return float(t.user + t.system)
        except psutil.Error:  # ended in between
            return 0.0

    top = psutil.Process(server.pid)

    def chrom(p: psutil.Process) -> bool:
        try:
            return "chrom" in p.name()
        except psutil.Error:  # ended in between
            return False

    chromium = [p for p in psutil.Process().children(recursive=True) if chrom(p)]
    return {
        "server": used(top),
        "workers": sum(used(c) for c in top.children(recursive=True)),
        "chromium": sum(used(p) for p in chromium),
    }


def bare_on_cpu0(seconds: float) -> float:
    """The bare loop in a process of its own on CPU 0 (one torch thread): the app's share of the classroom."""
    code = f"from benchmarks.bench_lab import bare; print(bare({seconds}))"
    out = subprocess.run([*_pin(0), sys.executable, "-c", code], cwd=ROOT, check=True, capture_output=True, text=True)
    return float(out.stdout.strip().splitlines()[-1])


def scenario(
    browser: Any, url: str, seeds: list[int], server: subprocess.Popen[bytes]
) -> tuple[list[tuple[float, float]], str, list[int]]:
    """Each page's (rate, longest gap), the cores each kind of process used over the window, and each page's step
    20 s after Start was pressed."""
    pages = [_open(browser, url, s) for s in seeds]
    for p in pages:
        p.get_by_role("button", name="Start").click()
    pressed = time.monotonic()
    try:
        time.sleep(max(0.0, 20 - (time.monotonic() - pressed)))
        early = [_step(p) for p in pages]
        _started(pages)
        c0, t0 = _cpu(server), time.monotonic()
        res = _watch(pages, WINDOW_S)
        c1, t1 = _cpu(server), time.monotonic()
        cores = ", ".join(f"{k} {(c1[k] - c0[k]) / (t1 - t0):.2f}" for k in c0)
        return res, cores, early
    finally:
        _stop(pages)


def main() -> None:
    if not Path(CHROMIUM).exists():
        print(f"skipped: {CHROMIUM} is missing (apt-get install chromium)")
        return
    from playwright.sync_api import sync_playwright

    base = bare(WINDOW_S)
    print(f"bare loop: {base:.3f} pair-steps/s ({usable_cores()} cores, batch {DEFAULT.batch_size})", flush=True)
    if os.environ.get("BENCH_LAB_EXTRAS", "1") != "0":
        cl = bare(WINDOW_S / 2, channels_last=True)
        wide = bare(WINDOW_S / 2, batch_size=2 * DEFAULT.batch_size)
        print(f"  channels-last {cl:.3f} ({cl / base:.2f}x); batch {2 * DEFAULT.batch_size}: {wide:.3f} pair-steps/s, "
              f"images/s {2 * wide / base:.2f}x batch {DEFAULT.batch_size}'s", flush=True)  # fmt: skip
        if os.environ.get("BENCH_LAB_COMPILE", "1") != "0":  # compiling both nets takes minutes on 2 cores
            comp = bare(WINDOW_S / 2, compiled=True)
            print(f"  torch.compile: {comp:.3f} ({comp / base:.2f}x, after the compile)", flush=True)
        eng = engine_only(WINDOW_S)
        print(f"engine, no browser: {eng:.3f} pair-steps/s ({eng / base:.2f}x bare)", flush=True)
    pinned = bool(_pin(1))
    app_base = bare_on_cpu0(WINDOW_S) if pinned else base
    where = "app and workers on CPU 0, Chromium on CPU 1" if pinned else "not pinned (no taskset or one CPU)"
    print(f"classroom model ({where}); bare loop on the app's CPU: {app_base:.3f} pair-steps/s", flush=True)
    with tempfile.TemporaryDirectory() as tmp, served(ROOT) as (proc, url), sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium(Path(tmp)), args=ARGS)
        for name, seeds in (("one session", [101]), ("four sessions, same settings", [102] * 4),
                            ("three sessions, seeds 103-105", [103, 104, 105])):  # fmt: skip
            res, cores, early = scenario(browser, url, seeds, proc)
            rates = [r for r, _ in res]
            each = ", ".join(f"{r:.3f} ({r / app_base:.2f}x)" for r in rates)
            together = sum(rates) if len(set(seeds)) > 1 else min(rates)
            print(f"{name}: each {each} pair-steps/s; min/bare {min(rates) / app_base:.2f}x; "
                  f"together/bare {together / app_base:.2f}x; step shown 20 s after Start: "
                  f"{', '.join(str(max(e, 0)) for e in early)}; longest refresh gap "
                  f"{max(g for _, g in res):.1f} s; cores: {cores}", flush=True)  # fmt: skip
        browser.close()
