"""Compare: several nets side by side (He et al. 2015 Table 1, computed), and params and MACs against depth."""

from resnet_viz.ui.compare.page import render_compare

render_compare()
