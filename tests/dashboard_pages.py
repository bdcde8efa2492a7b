"""Open a dashboard page in Streamlit's AppTest, on a given store (shared by the dashboard's tests)."""

from pathlib import Path

from streamlit.testing.v1 import AppTest

APP = Path(__file__).resolve().parents[1] / "dashboards" / "app.py"
PAGES = ("overview", "quality", "latency", "cost", "history")


def open_page(db: Path | str, page: str = "overview", *, timeout_s: float = 120) -> AppTest:
    """The app run once on `db` (the Overview, its default page), then switched to `page` and run again."""
    at = AppTest.from_file(str(APP), default_timeout=timeout_s)
    at.session_state["db"] = str(db)
    at.run()
    if page != "overview":
        at.switch_page(f"views/{page}.py")
        at.run()
    return at


def exceptions(at: AppTest) -> list[str]:
    """The messages of the exception boxes the page shows (none on a healthy page)."""
    return [e.message for e in at.exception]


def page_text(at: AppTest) -> str:
    """Every piece of text the page shows, joined: titles, markdown, captions, alerts, metrics' labels and values."""
    parts = []
    for kind in ("title", "header", "subheader", "markdown", "caption", "info", "warning", "error", "success",
                 "code", "text"):
        parts += [str(e.value) for e in getattr(at, kind)]
    parts += [f"{m.label} {m.value}" for m in at.metric]
    return "\n".join(parts)
