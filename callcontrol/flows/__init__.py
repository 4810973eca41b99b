"""Call flows: IVR menus in YAML, validated as a whole at load (loader.py), run verb by verb (runner.py), with
opening hours, holidays and closures (schedules.py). Each verb is one module of verbs/ (its options and its run),
listed once in verbs/registry.py; schema.py derives the Step union from it. See docs/flows.md."""

from callcontrol.flows.loader import Flow, Flows, load_flows
from callcontrol.flows.ports import Enqueuer, ManualClosure, ManualClosures
from callcontrol.flows.runner import FlowRunner
from callcontrol.flows.schedule_file import load_schedules
from callcontrol.flows.schedules import ScheduleState, WeeklySchedule, evaluate

__all__ = [
    "Enqueuer",
    "Flow",
    "FlowRunner",
    "Flows",
    "ManualClosure",
    "ManualClosures",
    "ScheduleState",
    "WeeklySchedule",
    "evaluate",
    "load_flows",
    "load_schedules",
]
