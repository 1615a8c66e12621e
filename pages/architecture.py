"""Route file for /architecture; the page itself is pages/explorer.py. Until st.navigation has run once, a fresh server
serves its first run from Streamlit's legacy pages/ scan, which runs this file for /architecture; `run_app` then
opens the page under the same url (see resnet_viz/ui/pages.py)."""

from resnet_viz.ui.pages import run_app

run_app()
