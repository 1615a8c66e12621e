"""The page table: each page's file, title key, icon and url path. `ui/pages.py` registers it with
`st.navigation`; Home lists it."""

from __future__ import annotations

__all__ = ["PAGES", "route_file"]

# (file, title key, icon, url path); the first is the default page, served at "/". Every other url path needs
# its route file, pages/<url path>.py, holding `run_app()` (tests/test_launch.py checks). A page's own file is
# never named after a url path: the legacy scan would run it on its own, without `run_app` and the sidebar.
PAGES: tuple[tuple[str, str, str, str], ...] = (
    ("pages/home.py", "nav.home", ":material/home:", "overview"),
    ("pages/explorer.py", "nav.explorer", ":material/account_tree:", "architecture"),
    ("pages/compare.py", "nav.compare", ":material/compare_arrows:", "comparison"),
    ("pages/gradients.py", "nav.gradients", ":material/monitoring:", "gradient-lab"),
    ("pages/features.py", "nav.features", ":material/image_search:", "feature-maps"),
    ("pages/tour.py", "nav.tour", ":material/school:", "guided-tour"),
    ("pages/why_residual.py", "nav.insights", ":material/insights:", "insights"),
)


def route_file(url_path: str) -> str:
    """The route file the legacy `pages/` scan serves `/<url_path>` from on a fresh server."""
    return f"pages/{url_path}.py"
