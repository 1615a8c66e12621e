"""Activation statistics computed once per (net spec, weights, picture) and shared by every caller: a small LRU.

A key is what determines the numbers: the net's spec (the plain twin has its own), an id of its weights, a hash of
the picture as the net sees it (the preprocessed tensor's bytes, so size and normalisation count) and the device.
Weights are named by their source where that is an immutable name (torchvision's ImageNet entry, a lab run's id),
and by a hash of their content otherwise (random weights, a user's checkpoint), since two files may share a name.

One process holds one cache (``shared_cache``): Streamlit sessions run as threads of one process, so they share
it, as ``st.cache_resource`` would share it. The same key asked for twice at once is computed once: the second
caller waits for the first. Entries are a few hundred small records each; ``MAX_ENTRIES`` bounds their number.
"""

from __future__ import annotations

import functools
import hashlib
import threading
from collections import OrderedDict
from typing import Final

import torch
from torch import Tensor

from ..nets.resnet import ResNet
from ..nets.spec import ResNetSpec
from .activations import ActivationStats, node_stats
from .weights import WeightsInfo

__all__ = [
    "MAX_ENTRIES",
    "StatsCache",
    "StatsKey",
    "activation_stats",
    "picture_hash",
    "shared_cache",
    "state_dict_id",
    "weights_id",
]

MAX_ENTRIES: Final = 32  # pictures × nets; ResNet-152's ~600 records are ~0.1 MB, so 32 entries stay a few MB
StatsKey = tuple[ResNetSpec, str, str, str]  # (spec, weights id, picture hash, device)


def picture_hash(x: Tensor) -> str:
    """SHA-256 of the tensor the net sees (dtype, shape and bytes), so one picture at two sizes is two pictures."""
    h = hashlib.sha256(f"{x.dtype}{tuple(x.shape)}".encode())
    h.update(x.detach().cpu().contiguous().reshape(-1).view(torch.uint8).numpy().data)
    return h.hexdigest()


def state_dict_id(model: torch.nn.Module) -> str:
    """A content hash (BLAKE2b) of ``model``'s state_dict: names, dtypes, shapes and bytes. ~0.4 s for ResNet-50."""
    h = hashlib.blake2b(digest_size=16)
    for name, t in model.state_dict().items():
        h.update(f"{name}:{t.dtype}:{tuple(t.shape)};".encode())
        h.update(t.detach().cpu().contiguous().reshape(-1).view(torch.uint8).numpy().data)
    return "sha:" + h.hexdigest()


def weights_id(info: WeightsInfo, model: torch.nn.Module) -> str:
    """An id of the weights ``model`` carries: the source's own name when it is immutable, else a content hash.

    torchvision's ImageNet entries (``imagenet:ResNet50_Weights.IMAGENET1K_V2``) and a finished lab run's nets
    (``lab:<run id>``) never change under their name; random weights and a user's file are hashed. With the spec
    in the key beside it, a net and its plain twin (``twin_of`` the same weights) stay apart. Compute it once per
    loaded model (hashing reads every weight) and keep it with the model.
    """
    if info.source == "imagenet":
        return f"imagenet:{info.detail}" + (":fc-reset" if info.classifier_reset else "")
    if info.source == "lab":
        return f"lab:{info.detail}"
    return state_dict_id(model)


class _Pending:
    """A computation under way: the callers asking for the same key meanwhile wait for it."""

    def __init__(self) -> None:
        self.done = threading.Event()
        self.result: ActivationStats | None = None
        self.error: BaseException | None = None


class StatsCache:
    """A bounded, thread-safe LRU of ``ActivationStats`` by (spec, weights id, picture hash, device)."""

    def __init__(self, max_entries: int = MAX_ENTRIES) -> None:
        if max_entries < 1:
            raise ValueError("a cache holds at least one entry")
        self.max_entries = max_entries
        self._entries: OrderedDict[StatsKey, ActivationStats] = OrderedDict()
        self._pending: dict[StatsKey, _Pending] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def get(self, key: StatsKey) -> ActivationStats | None:
        with self._lock:
            hit = self._entries.get(key)
            if hit is not None:
                self._entries.move_to_end(key)
            return hit

    def stats(self, model: ResNet, x: Tensor, *, weights: str, limit: int | None = None) -> ActivationStats:
        """``node_stats(model, x)``, computed on the first call for its key and read back on later ones.

        ``weights`` is ``weights_id``'s id of the model's weights. A refusal (``ResourceError``) is not cached.
        """
        key: StatsKey = (model.spec, weights, picture_hash(x), str(x.device))
        with self._lock:
            hit = self._entries.get(key)
            if hit is not None:
                self._entries.move_to_end(key)
                return hit
            pending = self._pending.get(key)
            mine = pending is None
            if pending is None:
                pending = self._pending[key] = _Pending()
        if not mine:
            pending.done.wait()
            if pending.error is not None:
                raise pending.error
            assert pending.result is not None  # set before done, whenever error is not
            return pending.result
        try:
            pending.result = node_stats(model, x, limit=limit)
        except BaseException as e:
            pending.error = e
            raise
        finally:
            with self._lock:
                del self._pending[key]
                if pending.result is not None:
                    self._entries[key] = pending.result
                    while len(self._entries) > self.max_entries:
                        self._entries.popitem(last=False)
            pending.done.set()
        return pending.result


@functools.cache
def shared_cache() -> StatsCache:
    """This process's one cache, shared by every session, page and command that asks for statistics."""
    return StatsCache()


def activation_stats(
    model: ResNet, x: Tensor, *, weights: str, cache: StatsCache | None = None, limit: int | None = None
) -> ActivationStats:
    """Every node's statistics for picture ``x`` through ``model`` (whose weights ``weights_id`` names ``weights``),
    from ``cache`` (default: ``shared_cache()``), computed in one forward pass the first time."""
    return (cache or shared_cache()).stats(model, x, weights=weights, limit=limit)
