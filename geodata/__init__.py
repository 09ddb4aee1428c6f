"""Geodata core: schema, store, reference layers, geocoding and classification (no streamlit)."""
