"""The home page: the default net's graph, its totals and the way into every other page."""
