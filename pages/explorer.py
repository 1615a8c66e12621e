"""Architecture explorer: the stage → block → layer graph with a shape on every edge, the layer table, exports."""

from resnet_viz.ui.explorer import render_explorer

render_explorer()
