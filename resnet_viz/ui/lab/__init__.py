"""The gradient lab: start a plain net and its residual twin, watch their gradients live."""
