"""A plain-text progress bar for stderr (no extra dependency)."""

from __future__ import annotations

from typing import TextIO

WIDTH = 30


class ProgressBar:
    """Call with (fraction, label): redraws in place on a terminal, else prints each 10%."""

    def __init__(self, stream: TextIO):
        self.stream = stream
        self.tty = bool(getattr(stream, "isatty", lambda: False)())
        self._last_step = -1
        self._last_label = ""

    def __call__(self, fraction: float, label: str) -> None:
        fraction = min(max(fraction, 0.0), 1.0)
        filled = int(WIDTH * fraction)
        line = f"[{'#' * filled}{'.' * (WIDTH - filled)}] {fraction * 100:5.1f}% {label}"
        if self.tty:
            self.stream.write("\r" + line[:100].ljust(100))
            self.stream.flush()
            return
        step = int(fraction * 10)
        # Not a terminal (a log file, CI): one line per 10% and per new phase, never a flood.
        phase = label.split(" ")[0]
        if step != self._last_step or phase != self._last_label:
            self._last_step, self._last_label = step, phase
            self.stream.write(line + "\n")
            self.stream.flush()

    def done(self, message: str) -> None:
        """Finish the bar with a last line."""
        self.stream.write(("\r" if self.tty else "") + message.ljust(100 if self.tty else 0) + "\n")
        self.stream.flush()
