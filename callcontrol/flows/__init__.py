"""Call flows: IVR menus in YAML (schema.py), validated as a whole at load (loader.py), run verb by verb
(runner.py, verbs.py), with opening hours, holidays and closures (schedules.py). See docs/flows.md."""

from callcontrol.flows.loader import Flow, Flows, Hotline, load_flows
from callcontrol.flows.ports import Enqueuer, ManualClosure, ManualClosures, NoManualClosures, UnavailableEnqueuer
from callcontrol.flows.runner import FlowRunner
from callcontrol.flows.schedules import ScheduleState, WeeklySchedule, evaluate, load_schedules

__all__ = [
    "Enqueuer",
    "Flow",
    "FlowRunner",
    "Flows",
    "Hotline",
    "ManualClosure",
    "ManualClosures",
    "NoManualClosures",
    "ScheduleState",
    "UnavailableEnqueuer",
    "WeeklySchedule",
    "evaluate",
    "load_flows",
    "load_schedules",
]
