"""Whether the running task is being cancelled, for the loops and cleanups that must know.

A CancelledError can be lost on the way (seen inside a Redis client's read): a loop that asks at each turn still
stops. A cleanup asks it to tell why its task ends (a lost ring, callcontrol stopping, a hangup).
"""

from __future__ import annotations

import asyncio


def cancel_pending() -> bool:
    """The running task has been asked to stop (task.cancelling()), whether or not its CancelledError came."""
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0
