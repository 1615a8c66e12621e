"""The architecture explorer: the graph of any net, its counts and exports, and its picture overlay."""
