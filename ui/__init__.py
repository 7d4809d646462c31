"""Streamlit-side helpers: the shared page frame and cached resources."""
