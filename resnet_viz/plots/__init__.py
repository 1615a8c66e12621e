"""Plotly figures, built from plain records and metrics (never from modules)."""
