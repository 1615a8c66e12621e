"""A Hugging Face transformers ``config.json`` given beside a ResNet's weights: its class names and its stride's place.

Optional, as the class-names file is: ``id2label`` names the classes, ``downsample_in_bottleneck`` says v1 (stride on
the first 1x1) or v1.5, and the parts the app cannot build (a first stage that downsamples, an activation other than
ReLU) are refused by name. Only JSON is read; nothing is fetched from the Hub.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from ..errors import InputError
from .infer import StrideAt
from .spec import ResNetSpec

__all__ = ["HFConfig", "check_config", "read_hf_config"]


@dataclass(frozen=True)
class HFConfig:
    """What a transformers ResNetConfig says beyond the weights."""

    class_names: tuple[str, ...] | None  # id2label in index order; None when absent
    variant: StrideAt | None  # from downsample_in_bottleneck; None when the config does not say


def _problem(e: Exception) -> str:
    if isinstance(e, json.JSONDecodeError):
        return f"line {e.lineno}: {e.msg}"
    return "not UTF-8 text"


def read_hf_config(data: bytes) -> HFConfig:
    """The config's class names and stride place; a file that is no transformers ResNet config is one sentence."""
    try:
        raw = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise InputError("ckpt_config_json", problem=_problem(e)) from e
    if not isinstance(raw, dict):
        raise InputError("ckpt_config_json", problem="no JSON object")
    if raw.get("model_type", "resnet") != "resnet":
        raise InputError("ckpt_config_json", problem=f"model_type {raw['model_type']!r}, not 'resnet'")
    if raw.get("downsample_in_first_stage"):
        raise InputError("ckpt_config_first_stage")
    act = raw.get("hidden_act", "relu")
    if act != "relu":
        raise InputError("ckpt_config_activation", act=act)
    labels = raw.get("id2label")
    names: tuple[str, ...] | None = None
    if labels is not None:
        try:
            by_index = {int(k): str(v) for k, v in dict(labels).items()}
        except (TypeError, ValueError) as e:
            raise InputError("ckpt_config_json", problem="id2label is not a map of class indices to names") from e
        if sorted(by_index) != list(range(len(by_index))):
            raise InputError("ckpt_config_json", problem="id2label's indices are not 0 … N-1")
        names = tuple(by_index[i] for i in range(len(by_index)))
    in_bottleneck = raw.get("downsample_in_bottleneck")
    variant: StrideAt | None = None if in_bottleneck is None else ("v1" if in_bottleneck else "v1.5")
    return HFConfig(class_names=names, variant=variant)


def check_config(config: HFConfig, spec: ResNetSpec) -> tuple[str, ...] | None:
    """The config's class names, after checking they are one per class of ``spec`` (none for a headless net)."""
    if config.class_names is None or spec.num_classes == 0:
        return None
    if len(config.class_names) != spec.num_classes:
        raise InputError("ckpt_config_labels", got=len(config.class_names), n=spec.num_classes)
    return config.class_names
