"""The `schedule` verb with the "closed now" switches out of reach: Redis away is one clean warning (the error,
no traceback) and the hours decide; a genuine bug still logs its traceback."""

from __future__ import annotations

import pytest
from flow_fakes import REPO, FakeCall, FakeClosures, FakeEnqueuer, settings
from structlog.testing import capture_logs

from callcontrol.flows import FlowRunner, load_flows


@pytest.fixture(scope="module")
def demo():
    return load_flows(REPO / "config", settings())


class BrokenClosures:
    async def get_closed(self, scope: str):
        raise KeyError("a bug of ours")


async def test_given_redis_away_when_schedule_checks_closures_then_one_line_with_the_error_and_no_traceback(demo):
    """Redis away (the adapter says ConnectionError): the warning names the error and carries no traceback."""
    call = FakeCall(["1"])
    with capture_logs() as logs:
        await FlowRunner(demo, enqueuer=FakeEnqueuer(), manual_closures=FakeClosures(fail=True)).run(call)
    warnings = [e for e in logs if e["event"] == "manual_closures_unavailable"]
    assert len(warnings) == 1 and warnings[0]["error"] == "redis down" and "exc_info" not in warnings[0]
    assert "schedule:open" in call.steps


async def test_given_a_bug_when_schedule_checks_closures_then_its_traceback_is_logged(demo):
    """Anything else than Redis being away is a bug: logged with its traceback, and the hours still decide."""
    call = FakeCall(["1"])
    with capture_logs() as logs:
        await FlowRunner(demo, enqueuer=FakeEnqueuer(), manual_closures=BrokenClosures()).run(call)
    warning = next(e for e in logs if e["event"] == "manual_closures_unavailable")
    assert warning.get("exc_info") is True
    assert "schedule:open" in call.steps
