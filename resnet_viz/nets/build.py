"""Build any ResNet (or its plain twin) from a spec, on the best device, after checking it fits.

The memory check traces the net on the meta device first, so this module sits above both the module
(`resnet`) and the tracer (`trace`), which itself only needs the module: the imports run one way.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch

from ..errors import ResourceError
from .resnet import ResNet
from .spec import ResNetSpec, spec_from
from .trace import trace

__all__ = ["MemoryEstimate", "available_memory", "build", "estimate_memory", "pick_device"]

BYTES_PER_FLOAT = 4


def pick_device(preferred: str | None = None) -> torch.device:
    """CUDA when present, then Apple MPS, else CPU; ``preferred`` (or $RESNET_VIZ_DEVICE) overrides."""
    choice = preferred or os.environ.get("RESNET_VIZ_DEVICE")
    if choice:
        return torch.device(choice)
    if torch.cuda.is_available():
        return torch.device("cuda")
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


@dataclass(frozen=True)
class MemoryEstimate:
    weight_bytes: int
    activation_bytes: int  # forward activations kept for backward, for the batch
    available_bytes: int | None
    device: str

    @property
    def total_bytes(self) -> int:
        return self.weight_bytes + self.activation_bytes

    @property
    def fits(self) -> bool:
        return self.available_bytes is None or self.total_bytes <= 0.9 * self.available_bytes


def available_memory(device: torch.device) -> int | None:
    """Free bytes on ``device``, or None when it cannot be told."""
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        return int(free)
    if device.type == "cpu":
        try:
            return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (ValueError, OSError):
            return None
    return None


def estimate_memory(
    spec: ResNetSpec, *, device: torch.device, input_size: tuple[int, int] | None = None, batch_size: int = 1
) -> MemoryEstimate:
    """Weights from the spec, activations from the meta-device trace: nothing is allocated."""
    report = trace(spec, input_size=input_size)
    return MemoryEstimate(
        weight_bytes=(report.totals.params + report.totals.buffers) * BYTES_PER_FLOAT,
        activation_bytes=report.totals.activation_bytes * batch_size,
        available_bytes=available_memory(device),
        device=str(device),
    )


def build(
    arch_or_spec: str | ResNetSpec,
    *,
    device: str | torch.device | None = None,
    input_size: tuple[int, int] | None = None,
    batch_size: int = 1,
    **overrides: object,
) -> ResNet:
    """The net named by a preset or spec (``overrides`` change spec fields), built on ``device``.

    The default device is :func:`pick_device`'s. Before anything is allocated the weights and the
    activations for ``batch_size`` inputs of ``input_size`` are estimated; what will not fit is refused.
    """
    spec = spec_from(arch_or_spec, **overrides)
    dev = torch.device(device) if device is not None else pick_device()
    if dev.type != "meta":
        est = estimate_memory(spec, device=dev, input_size=input_size, batch_size=batch_size)
        if not est.fits:
            raise ResourceError(
                "too_big",
                name=spec.title,
                need=_gib(est.total_bytes),
                have=_gib(est.available_bytes or 0),
                device=est.device,
            )
    with dev:
        return ResNet(spec)


def _gib(n: int) -> str:
    return f"{n / 2**30:.1f} GiB"
