"""Checkpoints open in one process, each held once by the hash of its bytes for as long as anyone holds it, within a
total: the web server's sessions share one copy of a file's weights, and a file past the total is refused.

Nothing open is ever evicted: an entry lives while some session (through its net, its weights, its models) holds the
file's tensors, and leaves when the last one lets go (a weak reference), so the total counts only what is held.
"""

from __future__ import annotations

import dataclasses
import hashlib
import threading
import weakref
from collections.abc import Callable
from dataclasses import dataclass

from torch import Tensor

from ..errors import InputError
from .checkpoint import Checkpoint

__all__ = ["CheckpointPool", "SharedTensors"]


class SharedTensors(dict[str, Tensor]):
    """A file's tensors by name: a dict the pool can hold a weak reference to."""


@dataclass(frozen=True)
class _Entry:
    tensors: weakref.ref[SharedTensors]
    meta: Checkpoint  # how the file was found (form, key, prefix, dialect), with no tensors
    nbytes: int


class CheckpointPool:
    """The files open in this process, by content; ``limit`` bytes of tensors at most, over all of them."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._lock = threading.Lock()
        self._entries: dict[str, _Entry] = {}

    def held(self) -> int:
        """Bytes of tensors held now, each file once."""
        with self._lock:
            return self._held()

    def __len__(self) -> int:
        with self._lock:
            self._prune()
            return len(self._entries)

    def _prune(self) -> None:
        for digest in [d for d, e in self._entries.items() if e.tensors() is None]:
            del self._entries[digest]

    def _held(self) -> int:
        self._prune()
        return sum(e.nbytes for e in self._entries.values())

    def _shared(self, digest: str, name: str) -> Checkpoint | None:
        entry = self._entries.get(digest)
        tensors = entry.tensors() if entry is not None else None
        if entry is None or tensors is None:
            return None
        return dataclasses.replace(entry.meta, name=name, tensors=tensors)

    def open(self, data: bytes, name: str, read: Callable[[bytes, str], Checkpoint]) -> Checkpoint:
        """The file's checkpoint: the one already open if these bytes are, else ``read(data, name)`` kept here.

        A file whose tensors would take the total past ``limit`` raises one InputError; nothing open is dropped.
        """
        digest = hashlib.sha256(data).hexdigest()
        with self._lock:
            if (found := self._shared(digest, name)) is not None:
                return found
        ckpt = read(data, name)  # outside the lock: reading a large file takes a while
        with self._lock:
            if (found := self._shared(digest, name)) is not None:  # another session read it meanwhile
                return found
            held, size = self._held(), ckpt.nbytes
            if held + size > self.limit:
                raise InputError("ckpt_pool_full", name=name, held=_mb(held), size=_mb(size), limit=_mb(self.limit))
            shared = SharedTensors(ckpt.tensors)
            meta = dataclasses.replace(ckpt, tensors={}, digest=digest)
            self._entries[digest] = _Entry(weakref.ref(shared), meta, size)
            return dataclasses.replace(meta, name=name, tensors=shared)


def _mb(n: int) -> str:
    return f"{n / 2**20:,.1f} MB"
