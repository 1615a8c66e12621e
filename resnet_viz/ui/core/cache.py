"""Cached core calls: records are data (st.cache_data), keyed by the frozen spec and the input size; and the web
process's torch threads, sized once per server.

torch is imported only by the first call that needs it: Home's default net comes from a shipped report
(resnet_viz/nets/shipped.py), so a fresh server draws Home's graph first and imports torch afterwards.
"""

from __future__ import annotations

import streamlit as st

from ...lab.cores import usable_cores
from ...nets.records import TraceReport
from ...nets.shipped import shipped_trace
from ...nets.spec import ResNetSpec

__all__ = ["cached_trace", "sized_threads"]


@st.cache_data(max_entries=64, show_spinner=False)
def cached_trace(spec: ResNetSpec, input_size: tuple[int, int] | None) -> TraceReport:
    shipped = shipped_trace(spec, input_size)
    if shipped is not None:
        return shipped
    from ...nets.trace import trace  # torch

    return trace(spec, input_size=input_size)


@st.cache_resource(show_spinner=False)
def sized_threads() -> int:
    """Torch's threads in the web process, at most the cores it may use (torch's default counts the host's
    physical cores, 32 in a 2-CPU pod on a 64-core node); set once per server, since every session shares them."""
    import torch

    if torch.get_num_threads() > (cores := usable_cores()):
        torch.set_num_threads(cores)
    return torch.get_num_threads()
