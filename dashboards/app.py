"""The dashboard's entry point (`dawg-bench dashboard` runs it headless): five pages over the results store."""

from __future__ import annotations

import sys
from pathlib import Path

# `streamlit run dashboards/app.py` puts this folder on sys.path, not the project; make both importable
ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import streamlit as st  # noqa: E402

from dashboards.common import db_path  # noqa: E402

VIEWS = Path(__file__).with_name("views")
PAGES = [
    st.Page(VIEWS / "overview.py", title="Overview", icon=":material/verified:", default=True),
    st.Page(VIEWS / "quality.py", title="Quality", icon=":material/graphic_eq:"),
    st.Page(VIEWS / "latency.py", title="Latency", icon=":material/speed:"),
    st.Page(VIEWS / "cost.py", title="Cost & ROI", icon=":material/payments:"),
    st.Page(VIEWS / "history.py", title="History", icon=":material/history:"),
]

st.set_page_config(page_title="DAWG Bench", page_icon=":material/equalizer:", layout="wide")
page = st.navigation(PAGES)
st.sidebar.caption(f"results store: `{db_path()}`")
page.run()
