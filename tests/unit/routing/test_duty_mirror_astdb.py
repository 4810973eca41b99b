"""The dialplan fallback's duty survives an Asterisk restart: the mirror also stores the holder in AstDB (AMI)."""

from __future__ import annotations

from callcontrol.routing.duty_mirror import DB_FAMILY, DB_KEY, DutyMirror
from callcontrol.state import AgentRecord, Device

from .kit import HOTLINE, StubAri

DIRECTORY = [
    AgentRecord(id="damien", name="Damien", mobile="+33612000001", hotlines={HOTLINE: 0}),
    AgentRecord(id="emma", name="Emma", mobile="+33612000002", hotlines={HOTLINE: 1}),
]


class FakeAstDb:
    """AstDB as AMI writes it; `down` makes every write fail as a refused connection does."""

    def __init__(self) -> None:
        self.db: dict[tuple[str, str], str] = {}
        self.writes = 0
        self.down = False

    async def db_put(self, family: str, key: str, value: str) -> None:
        self._attempt()
        self.db[(family, key)] = value

    async def db_del(self, family: str, key: str) -> None:
        self._attempt()
        self.db.pop((family, key), None)

    def _attempt(self) -> None:
        self.writes += 1
        if self.down:
            raise ConnectionRefusedError("AMI 127.0.0.1:5038: connection refused")


async def test_the_holder_is_stored_in_astdb_and_follows_a_handover(state):
    """callcontrol/oncall holds the holder's mobile, the colleague's after a handover, and is deleted when nobody
    on duty has a mobile (the dialplan then rings FALLBACK_ONCALL)."""
    layer, _ = state
    await layer.agents.sync_agents(DIRECTORY, on_call=[HOTLINE])
    astdb = FakeAstDb()
    mirror = DutyMirror(StubAri(), layer, [HOTLINE], astdb)  # type: ignore[arg-type]
    await mirror.sync(force=True)
    assert astdb.db == {(DB_FAMILY, DB_KEY): "+33612000001"}
    await layer.agents.login("emma", Device.MOBILE)
    await layer.agents.login("damien", Device.MOBILE)
    await layer.duty.handover("damien", "emma")
    await mirror.sync()
    assert astdb.db == {(DB_FAMILY, DB_KEY): "+33612000002"}
    writes = astdb.writes
    await mirror.sync()
    assert astdb.writes == writes  # unchanged: not written again
    await layer.agents.sync_agents([AgentRecord(id="paul", name="Paul", softphone="1004", hotlines={HOTLINE: 0})],
                                   on_call=[HOTLINE])
    await mirror.sync()
    assert astdb.db == {}


async def test_a_failed_astdb_write_is_logged_once_retried_and_never_stops_the_global(state, json_logs):
    """AMI away: one warning (not one per try), the global is still written, the next sync writes AstDB again."""
    layer, _ = state
    await layer.agents.sync_agents(DIRECTORY, on_call=[HOTLINE])
    astdb, ari = FakeAstDb(), StubAri()
    astdb.down = True
    mirror = DutyMirror(ari, layer, [HOTLINE], astdb)  # type: ignore[arg-type]
    await mirror.sync(force=True)
    await mirror.sync()
    await mirror.sync()
    assert astdb.writes == 3 and astdb.db == {}  # retried at each sync
    [warning] = json_logs.events("fallback_on_call_not_stored")
    assert warning["level"] == "warning" and "connection refused" in warning["error"]
    assert "+33612000001" in ari.named("request")[-1][3]  # the global does not wait for AMI
    astdb.down = False
    await mirror.sync()
    assert astdb.db == {(DB_FAMILY, DB_KEY): "+33612000001"}
    [stored] = json_logs.events("fallback_on_call_stored")
    assert stored["level"] == "info"


async def test_without_ami_only_the_global_is_written(state):
    """No `ami:` section: the mirror behaves as before (the global only), no AstDB client needed."""
    layer, _ = state
    await layer.agents.sync_agents(DIRECTORY, on_call=[HOTLINE])
    ari = StubAri()
    await DutyMirror(ari, layer, [HOTLINE]).sync(force=True)  # type: ignore[arg-type]
    assert "+33612000001" in ari.named("request")[-1][3]
