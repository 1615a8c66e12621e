"""The feature-maps page: channel grids and Grad-CAM for a picture, for the net and its plain twin."""
