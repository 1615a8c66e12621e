"""The Insights page's entry: its title and introduction drawn before the lab and its experiments are imported."""

from __future__ import annotations

from ..core.entry import loading

__all__ = ["render_insights"]


def render_insights() -> None:
    """The whole page: title, the run, and the five experiments in tabs."""
    with loading("insights.page.title", "insights.page.intro"):
        from .page import render_body
    render_body()
