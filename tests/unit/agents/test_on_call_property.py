"""Property (hypothesis, stateful): whatever agents, supervisors, the rota and the phones do, across two instances
sharing one Redis, an on-call hotline is never without a reachable member, except right after an audited forced
action or an audited loss of reachability (a softphone's registration lapsing, a mobile auto-paused)."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import fakeredis
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from callcontrol.agents.presence import Presence, PresenceRefused
from callcontrol.agents.rota import Rota, RotaEntry
from callcontrol.agents.rota_keeper import RotaKeeper
from callcontrol.clock import Clock
from callcontrol.state import AgentRecord, AgentStatus, Device, StateLayer
from callcontrol.state.errors import StateError

PARIS = ZoneInfo("Europe/Paris")
ONCALL = "astreinte"
START = datetime(2026, 12, 7, 9, 0, tzinfo=PARIS)
DIRECTORY = [
    AgentRecord(id="damien", name="Damien", mobile="+33612000001", hotlines={ONCALL: 0, "tech": 1}),
    AgentRecord(id="emma", name="Emma", mobile="+33612000002", softphone="1005", hotlines={ONCALL: 1}),
    AgentRecord(id="paul", name="Paul", softphone="1004", hotlines={ONCALL: 2, "tech": 0}),
    AgentRecord(id="alice", name="Alice", softphone="1001", hotlines={"tech": 0}),
]
AGENTS = [r.id for r in DIRECTORY]
EVERY_DAY = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
ROTA = Rota({ONCALL: (
    RotaEntry.model_validate({"days": EVERY_DAY, "from": "08:00", "to": "20:00", "agent": "damien"}),
    RotaEntry.model_validate({"days": EVERY_DAY, "from": "20:00", "to": "08:00", "agent": ["emma", "paul"]}),
)})
_REACHABLE = {AgentStatus.AVAILABLE, AgentStatus.RINGING, AgentStatus.ON_CALL, AgentStatus.WRAP_UP}
EXCUSES = ("softphone unreachable", "mobile unreachable", "paused:no_answer")  # audited losses of reachability

agent = st.sampled_from(AGENTS)
instance = st.integers(0, 1)


class OnCallMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.server = fakeredis.FakeServer()
        self.clients = [fakeredis.FakeAsyncRedis(server=self.server, decode_responses=True) for _ in range(2)]
        self.hours = 0.0
        self.layers = [StateLayer.create(c, clock=self.now) for c in self.clients]
        self.presence = [Presence(layer, self.now) for layer in self.layers]
        self.audit_seen = "0-0"
        self.covered = False

    def now(self) -> float:
        return (START + timedelta(hours=self.hours)).timestamp()

    def run(self, coro):
        return self.loop.run_until_complete(coro)

    def attempt(self, coro) -> None:
        """A use case that may be refused: refusals are fine, they change nothing."""
        with contextlib.suppress(PresenceRefused, StateError):
            self.run(coro)

    def teardown(self) -> None:
        for client in self.clients:
            self.run(client.aclose())
        self.loop.close()

    @initialize()
    def setup(self) -> None:
        self.run(self.layers[0].agents.sync_agents(DIRECTORY, on_call=[ONCALL], now=self.now()))
        self.run(self.presence[0].login("damien", Device.MOBILE, by="agents-line"))
        self.covered = self.run(self.reachable_holders()) > 0
        assert self.covered

    # -- what happens -----------------------------------------------------------------------------------------
    @rule(i=instance, a=agent, device=st.sampled_from(list(Device)))
    def login(self, i: int, a: str, device: Device) -> None:
        self.attempt(self.presence[i].login(a, device, by="softphone"))

    @rule(i=instance, a=agent, force=st.booleans())
    def logout(self, i: int, a: str, force: bool) -> None:
        self.attempt(self.presence[i].logout(a, by="cli" if force else "softphone", force=force, actor="sup"))

    @rule(i=instance, a=agent, force=st.booleans())
    def pause(self, i: int, a: str, force: bool) -> None:
        self.attempt(self.presence[i].pause(a, "lunch", by="api" if force else "agents-line", force=force))

    @rule(i=instance, a=agent)
    def unpause(self, i: int, a: str) -> None:
        self.attempt(self.presence[i].unpause(a, by="softphone"))

    @rule(a=agent, b=agent)
    def both_instances_let_two_go(self, a: str, b: str) -> None:
        """Two instances at once: the last two reachable members both ask to leave."""
        async def both() -> None:
            await asyncio.gather(self.presence[0].logout(a, by="softphone"),
                                 self.presence[1].pause(b, "break", by="agents-line"), return_exceptions=True)
        self.run(both())

    @rule(i=instance, a=agent, b=agent)
    def handover(self, i: int, a: str, b: str) -> None:
        self.attempt(self.presence[i].handover(a, b, by="agents-line"))

    @rule(i=instance, hours=st.sampled_from([0.5, 3.0, 7.0, 12.0]))
    def rota_tick(self, i: int, hours: float) -> None:
        self.hours += hours
        clock = Clock(zone=PARIS, start_at=START + timedelta(hours=self.hours))
        self.run(RotaKeeper(self.layers[i], ROTA, clock).tick())

    @rule(a=st.sampled_from(["emma", "paul", "alice"]), up=st.booleans())
    def registration(self, a: str, up: bool) -> None:
        self.run(self.layers[0].agents.set_reachable(a, Device.SOFTPHONE, up, now=self.now()))

    @rule(a=agent)
    def missed_calls(self, a: str) -> None:
        """Missed calls auto-pause a mobile (or softphone) after max_misses (1 here)."""
        self.attempt(self.layers[1].agents.record_miss(a, 1, now=self.now()))

    # -- what must hold ---------------------------------------------------------------------------------------
    async def reachable_holders(self) -> int:
        holders = [r.agent_id for r in await self.layers[0].duty.holders(ONCALL)]
        states = await self.layers[0].agents.states(holders)
        return sum(1 for s in states if s.status in _REACHABLE and s.reachable)

    @invariant()
    def never_nobody_on_call_unless_audited(self) -> None:
        if not hasattr(self, "covered"):
            return
        holders = self.run(self.layers[0].duty.holders(ONCALL))
        assert holders, "the on-call hotline lost every duty holder"
        covered = self.run(self.reachable_holders()) > 0
        new = self.run(self.clients[0].xrange("cc:audit", f"({self.audit_seen}", "+"))
        if new:
            self.audit_seen = new[-1][0]
        if self.covered and not covered:
            excused = [f for _, f in new if f.get("forced") == "1" or f.get("what", "").startswith(EXCUSES)]
            assert excused, f"nobody reachable on call, and no audited forced action or lost device: {new}"
        self.covered = covered


OnCallMachine.TestCase.settings = settings(
    max_examples=25, stateful_step_count=25, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
TestNeverNobodyOnCall = OnCallMachine.TestCase
TestNeverNobodyOnCall.__doc__ = "Random presence, handover, rota and device sequences on two instances (see module)."
