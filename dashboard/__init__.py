"""The Streamlit side of the dashboard: the only package that imports streamlit."""
