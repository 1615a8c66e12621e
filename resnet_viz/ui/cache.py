"""Cached core calls: records are data (st.cache_data), keyed by the frozen spec and the input size."""

from __future__ import annotations

import streamlit as st

from ..nets.spec import ResNetSpec
from ..nets.trace import TraceReport, trace

__all__ = ["cached_trace"]


@st.cache_data(max_entries=64, show_spinner=False)
def cached_trace(spec: ResNetSpec, input_size: tuple[int, int] | None) -> TraceReport:
    return trace(spec, input_size=input_size)
