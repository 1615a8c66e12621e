"""ResNet visualizer: the multipage entry. The sidebar is shared by every page; each page is thin."""

import streamlit as st

from resnet_viz.ui.pages import navigation

st.set_page_config(page_title="ResNet visualizer", page_icon="🧱", layout="wide")
navigation().run()
