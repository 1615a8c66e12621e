"""Feature maps: upload a picture and see what every stage of the chosen ResNet and its plain twin sees."""

from resnet_viz.ui.features.entry import render_features

render_features()
