"""The feature page's entry: its title and introduction drawn before torch and the vision modules are imported."""

from __future__ import annotations

from ..core.entry import loading

__all__ = ["render_features"]


def render_features() -> None:
    """Draw the whole feature-map page; every mistake a person can make becomes one sentence."""
    with loading("feat.title", "feat.intro"):
        from .page import render_body
    render_body()
