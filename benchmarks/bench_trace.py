"""Tracer vs torchinfo.summary on the same nets, timed in one run; peak memory measured in fresh processes.

torchinfo runs a real forward pass on CPU tensors (at 224 and 32). At 4096×4096 a real ResNet-152 forward
needs many GiB and minutes on this machine, so there the baseline is torchinfo on the same meta-device model.
"""

from __future__ import annotations

import functools
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Callable

import torch
import torchinfo

from resnet_viz import trace
from resnet_viz.nets.resnet import ResNet
from resnet_viz.nets.spec import preset

CASES = (("resnet152", 224, "cpu"), ("resnet1202", 32, "cpu"), ("resnet152", 4096, "meta"))


def _median_s(fn: Callable[[], object], repeat: int = 3) -> float:
    fn()  # warm-up: imports, meta kernels, allocator
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def _torchinfo(name: str, size: int, device: str) -> Callable[[], object]:
    with torch.device(device):
        model = ResNet(preset(name)).eval()
    return lambda: torchinfo.summary(model, input_size=(1, 3, size, size), device=device, verbose=0)


_PEAK = """
import resource, sys, torch, torchinfo
from resnet_viz import trace
from resnet_viz.nets.resnet import ResNet
from resnet_viz.nets.spec import preset
name, size, how = sys.argv[1], int(sys.argv[2]), sys.argv[3]
trace("resnet18", input_size=64)  # imports and kernels loaded: the baseline below is the process at rest
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
if how == "trace":
    trace(name, input_size=size)
else:
    with torch.device(how):
        model = ResNet(preset(name)).eval()
    torchinfo.summary(model, input_size=(1, 3, size, size), device=how, verbose=0)
print((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base) // 1024)
"""


def _peak_mib(name: str, size: int, how: str) -> int:
    out = subprocess.run(
        [sys.executable, "-c", _PEAK, name, str(size), how], capture_output=True, text=True, check=True
    )
    return int(out.stdout.strip().splitlines()[-1])


def _activation_gib(name: str, size: int) -> float:
    return trace(name, input_size=size).totals.activation_bytes / 2**30


def main() -> None:
    rows = []
    for name, size, device in CASES:
        ours = _median_s(functools.partial(trace, name, input_size=size))
        base = _median_s(_torchinfo(name, size, device), repeat=1 if name == "resnet1202" else 3)
        rows.append({"net": name, "input": size, "torchinfo_on": device, "trace_s": round(ours, 3),
                     "torchinfo_s": round(base, 3), "speedup": round(base / ours, 1)})  # fmt: skip
    print(f"{'net':<11}{'input':>6}  {'trace s':>8}  {'torchinfo s':>11} (on)  {'torchinfo/trace':>15}")
    for r in rows:
        print(f"{r['net']:<11}{r['input']:>6}  {r['trace_s']:>8.3f}  {r['torchinfo_s']:>11.3f} ({r['torchinfo_on']})"
              f"  {r['speedup']:>14.1f}x")  # fmt: skip
    r224, r4096 = rows[0], rows[2]
    print(f"trace resnet152: 4096 costs {r4096['trace_s'] / r224['trace_s']:.2f}x what 224 costs")
    peaks = {how: _peak_mib("resnet152", 4096, how) for how in ("trace", "meta")}
    peaks["trace@224"] = _peak_mib("resnet152", 224, "trace")
    print(
        f"peak RSS growth over a warmed-up process, resnet152: trace@4096 {peaks['trace']} MiB, "
        f"trace@224 {peaks['trace@224']} MiB, torchinfo(meta)@4096 {peaks['meta']} MiB; "
        f"a real float32 forward at 4096 would hold {_activation_gib('resnet152', 4096):.0f} GiB of layer outputs"
    )
    print(json.dumps({"rows": rows, "peak_mib": peaks}))


if __name__ == "__main__":
    main()
