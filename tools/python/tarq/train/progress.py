"""A progress bar on stderr, standard library only (the trainer's one dependency rule: torch and numpy).

On a terminal the bar redraws in place at most ten times a second; into a file or pipe (CI logs) it prints a plain
line at every quarter, so logs stay short and readable.
"""

from __future__ import annotations

import sys
import time

__all__ = ["Progress"]


class Progress:
    def __init__(self, total: int, label: str, stream=None, enabled: bool = True):
        self.total = max(int(total), 1)
        self.label = label
        self.stream = stream or sys.stderr
        self.enabled = enabled
        self.tty = enabled and hasattr(self.stream, "isatty") and self.stream.isatty()
        self.done = 0
        self.start = time.monotonic()
        self.last_draw = 0.0
        self.next_quarter = 1
        self.status = ""

    def update(self, steps: int = 1, status: str = "") -> None:
        self.done = min(self.done + steps, self.total)
        if status:
            self.status = status
        if not self.enabled:
            return
        now = time.monotonic()
        if self.tty:
            if now - self.last_draw >= 0.1 or self.done == self.total:
                self.last_draw = now
                self._draw(now, end="\r")
        elif self.done * 4 >= self.next_quarter * self.total:
            while self.done * 4 >= self.next_quarter * self.total:
                self.next_quarter += 1
            self._draw(now, end="\n")

    def close(self, status: str = "") -> None:
        if status:
            self.status = status
        if self.enabled and self.tty:
            self._draw(time.monotonic(), end="\n")

    def _draw(self, now: float, end: str) -> None:
        width = 24
        filled = width * self.done // self.total
        elapsed = now - self.start
        rate = self.done / elapsed if elapsed > 0 else 0.0
        eta = (self.total - self.done) / rate if rate > 0 else 0.0
        bar = "#" * filled + "-" * (width - filled)
        line = (f"{self.label} [{bar}] {self.done}/{self.total} {_clock(elapsed)}<{_clock(eta)}"
                + (f" {self.status}" if self.status else ""))
        self.stream.write(line + ("\x1b[K" if self.tty else "") + end)
        self.stream.flush()


def _clock(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 60:d}:{seconds % 60:02d}"
