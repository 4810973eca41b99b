"""Runs a caller through the validated flows, verb by verb, noting every branch taken for the journal."""

from __future__ import annotations

from collections.abc import Collection
from typing import TYPE_CHECKING

import structlog

from callcontrol.calls.errors import CallEnded
from callcontrol.flows.context import END, STOP, Context, Evaluate
from callcontrol.flows.loader import Flows
from callcontrol.flows.ports import Enqueuer, ManualClosures
from callcontrol.flows.schedules import evaluate
from callcontrol.flows.verbs.registry import VERBS

if TYPE_CHECKING:
    from callcontrol.calls.port import CallPort

MAX_STEPS = 500  # per call; the loader rejects loops that never wait, this is the belt to those braces


class FlowRunner:
    def __init__(
        self,
        flows: Flows,
        *,
        enqueuer: Enqueuer,
        manual_closures: ManualClosures,
        allowed_numbers: Collection[str] | None = None,
        evaluate: Evaluate = evaluate,
        max_steps: int = MAX_STEPS,
    ):
        self.flows = flows
        self.enqueuer = enqueuer
        self.manual_closures = manual_closures
        self.allowed_numbers = frozenset(flows.allowed_numbers if allowed_numbers is None else allowed_numbers)
        self.evaluate = evaluate
        self.max_steps = max_steps

    async def run(self, call: CallPort, entry: str = "inbound") -> None:
        """Run the flow declared for `entry` (entry: {inbound: main}) until it hangs up, ends or the caller leaves."""
        if entry not in self.flows.entries:
            raise ValueError(f"no flow for entry {entry!r}; declared: {', '.join(self.flows.entries)}")
        flow_id, position = self.flows.entries[entry], 0
        log = structlog.get_logger().bind(call_id=call.call_id, entry=entry)
        ctx = Context(call, self.flows, self.enqueuer, self.manual_closures, self.evaluate, self.allowed_numbers, log)
        log.info("flow_started", flow=flow_id)
        call.note(f"flow:{flow_id}")
        try:
            for _ in range(self.max_steps):
                flow = self.flows.flows[flow_id]
                if position >= len(flow.steps):
                    call.note("end_of_flow", flow=flow_id)
                    log.info("flow_ended", flow=flow_id, reason="end_of_flow")
                    await call.hangup("normal")
                    return
                step = flow.steps[position]
                outcome = await VERBS[step.verb_name].run(ctx, step.verb, flow.label(position))
                if outcome is None:
                    position += 1
                elif outcome == STOP:
                    log.info("flow_ended", flow=flow_id, reason="hangup")
                    return
                elif outcome == END:
                    log.info("flow_ended", flow=flow_id, reason=step.verb_name)
                    await call.hangup("normal")
                    return
                else:
                    next_flow, position = self.flows.resolve(flow_id, outcome)
                    if next_flow != flow_id:
                        call.note(f"flow:{next_flow}")
                    flow_id = next_flow
            log.error("flow_step_limit", flow=flow_id, max_steps=self.max_steps)
            await call.hangup("normal")
        except CallEnded:
            log.info("flow_caller_left", flow=flow_id, position=position)
