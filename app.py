"""ResNet visualizer: the entry script (`streamlit run app.py`). The page table, the router and the shared
sidebar live in resnet_viz/ui/pages.py; each page is thin."""

from resnet_viz.ui.pages import run_app

run_app()
