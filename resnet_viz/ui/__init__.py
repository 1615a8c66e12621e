"""The Streamlit side: the shared sidebar, session state, cached work and translated output.

Only this package, ``app.py`` and ``pages/`` import streamlit; the core never does.
"""
