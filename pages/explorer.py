"""Architecture explorer: the stage → block → layer graph with a shape on every edge, the layer table, exports."""

from resnet_viz.ui.graph.page import render_explorer

render_explorer()
