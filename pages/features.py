"""Features: placeholder until its issue lands."""

import streamlit as st

from resnet_viz.ui.text import tr

st.title(tr("nav.features"))
st.info(tr("home.soon"))
