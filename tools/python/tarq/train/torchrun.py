"""``torchrun``, runnable where Debian's PyTorch 1.13 breaks it: ``python3 -m tarq.train.torchrun ARGS``.

On Python 3.11, torch 1.13's elastic launcher cannot parse its own ``--redirects`` / ``--tee`` defaults:
``Std.from_str("0")`` looks the value up by iterating the ``IntFlag`` ``Std``, and since Python 3.11 iterating a flag
yields only its single-bit members (not ``NONE = 0`` or ``ALL = 3``), so it returns None and ``torchrun`` dies with
``AttributeError: 'NoneType' object has no attribute 'get'`` before starting a worker. This module fixes that one function and then runs ``torch.distributed.run`` unchanged; where
``torchrun`` works (newer torch), use it directly: the trainer only reads torchrun's environment.
"""

from __future__ import annotations

import re
import sys

from torch.distributed import run
from torch.distributed.elastic.multiprocessing import api


def _from_str(vm: str):
    def to_std(v: str):
        value = int(v)
        if not 0 <= value <= 3:
            raise ValueError(f"{v} is not a valid std stream selector (0..3)")
        return api.Std(value)

    if re.match(api._VALUE_REGEX, vm):
        return to_std(vm)
    if re.match(api._MAPPING_REGEX, vm):
        return {int(i): to_std(v) for i, v in (m.split(":") for m in vm.split(","))}
    raise ValueError(f"{vm} does not match <{api._VALUE_REGEX}> or <{api._MAPPING_REGEX}>")


def _broken() -> bool:
    try:
        return api.Std.from_str("0") is None
    except Exception:  # noqa: BLE001  (any failure means the stock parser cannot be trusted)
        return True


if _broken():
    api.Std.from_str = staticmethod(_from_str)

if __name__ == "__main__":
    sys.exit(run.main())
