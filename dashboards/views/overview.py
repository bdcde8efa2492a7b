"""overview page (placeholder until built)."""

import streamlit as st

from dashboards.common import require_store

st.title("overview")
require_store()
