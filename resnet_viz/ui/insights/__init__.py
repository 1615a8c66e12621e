"""Why residual learning works: the five experiments on a finished lab run."""
