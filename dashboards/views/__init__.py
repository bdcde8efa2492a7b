"""One module per dashboard page, each a script Streamlit runs (dashboards/app.py lists them)."""
