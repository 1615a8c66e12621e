"""Insights: five experiments from the literature on a finished lab run, the residual net beside its plain twin."""

from resnet_viz.ui.insights.entry import render_insights

render_insights()
