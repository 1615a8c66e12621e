"""What a lab run is: its frozen configuration and the content hash that names it."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass
from importlib import metadata
from typing import Any, Final, Literal

import torch

from ..nets.spec import ResNetSpec
from .data import DatasetName
from .gradients import Optimizer

__all__ = [
    "MAX_SEED",
    "NETS",
    "NetName",
    "RunConfig",
    "config_from_dict",
    "package_version",
    "run_id",
]

NetName = Literal["residual", "plain"]
# Training seeds stay below 2**31: torch keeps only a seed's low 32 bits, and the insights' held-out images
# are drawn with a seed whose low 32 bits no training seed can have (insights/data.py).
MAX_SEED: Final = 2**31 - 1
NETS: Final[tuple[NetName, ...]] = ("residual", "plain")


@dataclass(frozen=True)
class RunConfig:
    """Everything that determines a run: ``spec`` is the residual net; its plain twin is ``spec.twin()``."""

    spec: ResNetSpec
    optimizer: Optimizer = "sgd"
    lr: float = 0.1
    warmup: int = 0  # steps over which the learning rate ramps from lr/10 to lr (He et al. 2015 §4.2)
    clip: float = 0.0  # gradient-norm clipping (0: none)
    batch_size: int = 32
    steps: int = 300
    seed: int = 0
    dataset: DatasetName = "synthetic"
    folder: str = ""  # the ImageFolder under the data root, for dataset "folder"
    device: str = "cpu"

    def specs(self) -> dict[NetName, ResNetSpec]:
        residual = self.spec.replace(plain=False)
        return {"residual": residual, "plain": residual.twin()}

    @property
    def title(self) -> str:
        return self.spec.replace(plain=False).title

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["spec"] = self.spec.to_dict()
        return d


def config_from_dict(d: dict[str, Any]) -> RunConfig:
    """The inverse of ``RunConfig.to_dict`` (lists back to tuples)."""
    spec: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in d["spec"].items()}
    fields = {f.name for f in dataclasses.fields(RunConfig)}
    rest = {k: v for k, v in d.items() if k in fields and k != "spec"}
    return RunConfig(spec=ResNetSpec(**spec), **rest)


def package_version() -> str:
    try:
        return metadata.version("resnet-viz")
    except metadata.PackageNotFoundError:  # run from a checkout, not installed
        from ..config import REPO_ROOT

        text = (REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8")
        return next(line.split('"')[1] for line in text.splitlines() if line.startswith("version"))


def run_id(config: RunConfig) -> str:
    """A hash of everything that determines the run, the versions of torch and of this package included.

    Two people pressing Start on the same settings get the same id, so they share one run.
    """
    key = {"config": config.to_dict(), "torch": torch.__version__.split("+")[0], "resnet_viz": package_version()}
    text = json.dumps(key, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]
