"""history page (placeholder until built)."""

import streamlit as st

from dashboards.common import require_store

st.title("history")
require_store()
