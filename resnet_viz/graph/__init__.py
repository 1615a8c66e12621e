"""The picture of a net: its graph at stage, block or layer level from trace records, drawn by graphviz, and exports."""
