"""Guided tour: seven chapters on residual learning, each with a live view from the app."""

from resnet_viz.ui.tour.page import render_tour

render_tour()
