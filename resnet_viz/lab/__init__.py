"""The gradient lab as a service: engine, run store, training, insights."""
