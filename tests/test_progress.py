"""Progress when output is not a terminal (CI logs): plain lines at the start, at most every 10 s,
and at completion — never silence until the end."""

import io

from rich.console import Console

from harness.progress import reporting


class Clock:
    def __init__(self):
        self.t = 0.0

    def __call__(self):
        return self.t


def test_plain_lines_are_throttled_and_the_end_is_always_reported():
    out = io.StringIO()
    console = Console(file=out, force_terminal=False, width=100)
    clock = Clock()
    with reporting(console, "scoring", every_s=10.0, clock=clock) as progress:
        for done in range(0, 101):
            clock.t = done * 0.5  # 0.5 s per example: 50 s in all
            progress(done, 100)
        progress(100, 100)  # a repeated final update prints nothing more
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("scoring: 0/100 (0%) after 0 s")
    assert lines[-1] == "scoring: 100/100 (100%) after 50 s"
    assert 5 <= len(lines) <= 7  # start, every 10 s, end
    assert any("s left" in line for line in lines[1:-1])


def test_a_terminal_gets_a_live_bar_not_lines():
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=100)
    with reporting(console, "scoring") as progress:
        progress(1, 2)
    assert "scoring: 1/2" not in out.getvalue()


def test_a_report_with_a_note_stays_one_line_in_a_narrow_log():
    out = io.StringIO()
    console = Console(file=out, force_terminal=False, width=40)
    with reporting(console, "training a quick eq model", clock=Clock()) as progress:
        progress(10, 4000, "loss 1.226, validation 3.348")
    lines = out.getvalue().splitlines()
    assert len(lines) == 1 and lines[0].endswith("; loss 1.226, validation 3.348")
