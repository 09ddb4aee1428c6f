"""Ingest: sources, drill scenario and the ``python -m ingest`` command line (no streamlit)."""
