"""The leadership dashboard: a Streamlit app over the results store (`dawg-bench dashboard`).

`store_view` reads the store (read-only, never migrating or creating it); `common` is what every
page shares (the store's path, cached reads, the page shown when the store cannot be read);
`promises` sets the plan's claims beside what the harness measured; `views/` holds one module per
page; `app.py` is the entry point Streamlit runs.
"""
