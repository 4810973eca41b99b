"""One object giving the composition root every part of the state layer over one Redis client."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from redis.asyncio import Redis

from .agents import Agents
from .call_end import CallEndWriter
from .callbacks import Callbacks
from .clockshare import ClockShare
from .closures import Closures
from .duty import Duty
from .events import EventBus
from .figures import Figures
from .instances import Instances
from .journal import Journal
from .queues import Queues
from .store import Store
from .tickets import Tickets


@dataclass(frozen=True, slots=True)
class StateLayer:
    store: Store
    agents: Agents
    queues: Queues
    instances: Instances
    journal: Journal
    closures: Closures
    duty: Duty  # who holds the on-call hotlines, handovers, rota shifts, the audit stream
    events: EventBus  # every call and agent change, typed, on one channel
    shared_clock: ClockShare  # the city-clock offset every process shares (cc:clock)
    callbacks: Callbacks  # callbacks that keep the citizen's place (queue entries owned by every instance)
    tickets: Tickets  # follow-up tickets: voicemails, late or failed callbacks
    figures: Figures  # service figures per hotline, day and hour (counted as calls end)
    call_end: CallEndWriter  # a finished call's journal line, figures and repeat check in one round trip

    @classmethod
    def create(
        cls,
        redis: Redis,
        *,
        prefix: str = "cc:",
        clock: Callable[[], float] = time.time,
        journal_max_entries: int = 100_000,
    ) -> StateLayer:
        store = Store(redis, prefix=prefix, clock=clock)
        return cls(
            store=store,
            agents=Agents(store),
            queues=Queues(store),
            instances=Instances(store),
            journal=Journal(store, max_entries=journal_max_entries),
            closures=Closures(store),
            duty=Duty(store),
            events=EventBus(store),
            shared_clock=ClockShare(store),
            callbacks=Callbacks(store),
            tickets=Tickets(store),
            figures=Figures(store),
            call_end=CallEndWriter(store, max_entries=journal_max_entries),
        )
