"""Radio driver registry: YAML ``type:`` name -> "module:Class".

Drivers are imported only when chosen, so a heavy dependency of one driver never
loads for another.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any
from collections.abc import Callable

if TYPE_CHECKING:
    from .driver import RadioDriver

RADIO_DRIVERS: dict[str, str] = {
    "hytera": "gateway.pdt350.hytera:HyteraDriver",
}

RADIO_DRIVER_TYPES: tuple[str, ...] = tuple(sorted(RADIO_DRIVERS))


def driver_class(type_name: str) -> Callable[..., RadioDriver]:
    """The driver class for ``type_name``. Every driver takes (serial_url, *, baudrate, radio_id,
    transmit_timeout_s) and does no I/O in its constructor."""
    try:
        target = RADIO_DRIVERS[type_name]
    except KeyError:
        valid = ", ".join(RADIO_DRIVER_TYPES)
        raise ValueError(f"unknown radio driver type {type_name!r} (valid: {valid})") from None
    module_name, _, class_name = target.partition(":")
    cls: Any = getattr(importlib.import_module(module_name), class_name)
    return cls  # type: ignore[no-any-return]
