"""Keep freed tensor memory in the process instead of handing it back to the kernel after every op.

glibc's malloc serves every allocation above 32 MB (its largest mmap threshold) with a fresh ``mmap`` and returns it
with ``munmap`` when freed. A training step at n_max = 100 creates and frees dozens of such tensors (the sequence
block's scores are [B, h, n, n]: 40 MB at batch 256), so each of them was faulted in page by page, zeroed by the
kernel, on every step: most of the step's time (1.9 s a step, against about 0.5 s with the memory kept; docs/training.md).
``M_MMAP_MAX = 0`` makes malloc take large blocks from the heap too, and a high ``M_TRIM_THRESHOLD`` keeps freed ones
there for the next step. The cost is that the process keeps its peak memory until it exits, as a trainer does anyway.
Glibc only: elsewhere (musl, macOS) this does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util

__all__ = ["keep_freed_memory"]

_M_TRIM_THRESHOLD = -1  # glibc's mallopt parameter numbers (malloc.h)
_M_MMAP_MAX = -4
_TRIM_THRESHOLD = 2**31 - 1  # the largest an int parameter takes: trim only past 2 GB of free heap top

_done = False


def keep_freed_memory() -> bool:
    """Sets the two mallopt parameters once per process; returns whether glibc accepted them."""
    global _done
    if _done:
        return True
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    _done = mallopt(_M_MMAP_MAX, 0) == 1 and mallopt(_M_TRIM_THRESHOLD, _TRIM_THRESHOLD) == 1
    return _done
