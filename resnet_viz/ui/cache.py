"""Cached core calls: records are data (st.cache_data), keyed by the frozen spec and the input size; and the web
process's torch threads, sized once per server."""

from __future__ import annotations

import streamlit as st
import torch

from ..lab.cores import usable_cores
from ..nets.spec import ResNetSpec
from ..nets.trace import TraceReport, trace

__all__ = ["cached_trace", "sized_threads"]


@st.cache_data(max_entries=64, show_spinner=False)
def cached_trace(spec: ResNetSpec, input_size: tuple[int, int] | None) -> TraceReport:
    return trace(spec, input_size=input_size)


@st.cache_resource(show_spinner=False)
def sized_threads() -> int:
    """Torch's threads in the web process, at most the cores it may use (torch's default counts the host's
    physical cores, 32 in a 2-CPU pod on a 64-core node); set once per server, since every session shares them."""
    if torch.get_num_threads() > (cores := usable_cores()):
        torch.set_num_threads(cores)
    return torch.get_num_threads()
