"""The comparison page: nets side by side."""
