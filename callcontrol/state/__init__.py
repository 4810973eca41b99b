"""Redis state layer: agents' directory and presence, hotline queues, claims, journal, closures, events, clock.

The only Redis code of callcontrol. Every multi-key or check-then-set change is a Lua script (scripts/*.lua),
so several instances can share one Redis. Key schema and script guarantees: docs/state.md.
"""

from .agents import NO_ANSWER, Agents
from .clockshare import ClockShare
from .closures import ALL, Closures
from .errors import (
    AgentBusy,
    AgentNotFound,
    CallAlreadyQueued,
    CallNotFound,
    CallNotWaiting,
    DeviceNotConfigured,
    InvalidTransition,
    QueueFull,
    StateError,
)
from .events import (
    AgentAvailable,
    CallChanged,
    CallStage,
    DutyChanged,
    EventBus,
    PresenceChanged,
    Resubscribed,
    StateEvent,
    encode_event,
    parse_agent_available,
    parse_event,
)
from .instances import Instances
from .journal import Journal
from .layer import StateLayer
from .models import (
    AgentRecord,
    AgentState,
    AgentStatus,
    CallStatus,
    Claim,
    Closure,
    Device,
    JournalEntry,
    NoAnswer,
    QueuedCall,
    Reservation,
    StaleEntries,
    Strategy,
    SyncResult,
)
from .queues import PRIORITY_MAX, Queues, queue_score
from .store import Keys, Store
from .tickets import KINDS as TICKET_KINDS
from .tickets import Ticket, TicketClosed, TicketNotFound, Tickets, TicketStatus

__all__ = [
    "ALL",
    "NO_ANSWER",
    "PRIORITY_MAX",
    "TICKET_KINDS",
    "AgentAvailable",
    "AgentBusy",
    "AgentNotFound",
    "AgentRecord",
    "AgentState",
    "AgentStatus",
    "Agents",
    "CallAlreadyQueued",
    "CallChanged",
    "CallNotFound",
    "CallNotWaiting",
    "CallStage",
    "CallStatus",
    "Claim",
    "ClockShare",
    "Closure",
    "Closures",
    "Device",
    "DeviceNotConfigured",
    "DutyChanged",
    "EventBus",
    "Instances",
    "InvalidTransition",
    "Journal",
    "JournalEntry",
    "Keys",
    "NoAnswer",
    "PresenceChanged",
    "QueueFull",
    "QueuedCall",
    "Queues",
    "Reservation",
    "Resubscribed",
    "StaleEntries",
    "StateError",
    "StateEvent",
    "StateLayer",
    "Store",
    "Strategy",
    "SyncResult",
    "Ticket",
    "TicketClosed",
    "TicketNotFound",
    "TicketStatus",
    "Tickets",
    "encode_event",
    "parse_agent_available",
    "parse_event",
    "queue_score",
]
