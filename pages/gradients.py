"""Gradient-flow lab: a residual net and its plain twin trained side by side, gradient norms live."""

from resnet_viz.ui.lab.entry import render_gradients

render_gradients()
