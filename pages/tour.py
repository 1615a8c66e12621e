"""Tour: placeholder until its issue lands."""

import streamlit as st

from resnet_viz.ui.text import tr

st.title(tr("nav.tour"))
st.info(tr("home.soon"))
