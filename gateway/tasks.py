"""Supervised tasks: an unhandled error in any background task reaches the loop's exception
handler at once (not whenever the task happens to be garbage-collected), so the gateway
can unkey every radio and stop."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any

_running: set[asyncio.Task[Any]] = set()


def spawn(coro: Coroutine[Any, Any, Any], name: str | None = None) -> asyncio.Task[Any]:
    task = asyncio.get_running_loop().create_task(coro, name=name)
    _running.add(task)  # keep a reference: the loop holds only weak ones
    task.add_done_callback(_finished)
    return task


def _finished(task: asyncio.Task[Any]) -> None:
    _running.discard(task)
    if task.cancelled():
        return
    exc = task.exception()
    if exc is not None:
        task.get_loop().call_exception_handler({
            "message": f"unhandled error in task {task.get_name()}", "exception": exc, "task": task})
