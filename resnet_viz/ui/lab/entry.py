"""The lab page's entry: its title and introduction drawn before the lab's modules (torch, SQLAlchemy, Dask: 2.6 s
warm, more on a fresh server's cold disk) are imported. Imports nothing heavy (tests/test_package.py checks)."""

from __future__ import annotations

from ..core.entry import loading

__all__ = ["render_gradients"]


def render_gradients() -> None:
    """The whole lab: its title and introduction, then everything else once its modules are loaded."""
    with loading("grad.title", "grad.intro", "grad.page_loading"):
        from .page import render_lab
    render_lab()
