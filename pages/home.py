"""Home: the chosen net (ResNet-50 by default) at a glance, and where to go next."""

from resnet_viz.ui.home.page import render_home

render_home()
