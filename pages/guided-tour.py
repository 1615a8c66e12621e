"""Route file for /guided-tour; the page itself is pages/tour.py. Until st.navigation has run once, a fresh server
serves its first run from Streamlit's legacy pages/ scan, which runs this file for /guided-tour; `run_app` then
opens the page under the same url (see resnet_viz/ui/pages.py)."""

from resnet_viz.ui.pages import run_app

run_app()
