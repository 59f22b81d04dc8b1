"""The one way edgeperf makes a rich Console, so that text piped to a file or a CI log is never hard-wrapped.

rich assumes 80 columns (or $COLUMNS) when its output is not a terminal and wraps long lines and squeezes
tables to that; a script grepping an error or a log reader then sees broken lines. A terminal's own width
is the only limit kept.
"""

from __future__ import annotations

from rich.console import Console

#: Width when the output is not a terminal: wide enough that a table keeps its natural width.
_UNLIMITED = 10_000


def make_console(stderr: bool = False) -> Console:
    """A Console on stdout (or stderr) that wraps only at a real terminal's width."""
    console = Console(stderr=stderr, soft_wrap=True)
    if not console.is_terminal:
        console.width = _UNLIMITED
    return console
