"""A Sentinel-managed Redis fails over while calls are up: callcontrol (real process, `redis.sentinels` settings),
real Asterisk, SIPp citizens and softphones, and scripts/redis sentinel-up (ports 6391/6392, sentinels
26390-26392; the shared test Redis on 6390 is not touched)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest
from harness import wait_until
from hotline_kit import ReservationWatch, config_files, dialogs, overlaps
from sentinel_kit import SentinelRedis, callcontrol_yaml, login

TALK = 22.0  # the bridged citizen hangs up herself this long after her call was answered




@pytest.fixture
def sentinel() -> Iterator[SentinelRedis]:
    """A master, a replica and three sentinels of this test only, stopped by PID afterwards."""
    redis_sentinel = SentinelRedis()
    redis_sentinel.down()  # what an interrupted run may have left (by its PID files)
    yield redis_sentinel.up()
    redis_sentinel.down()


@pytest.mark.parametrize("how", ["kill_master", "sentinel_failover"])
def test_given_a_bridged_call_and_a_waiting_citizen_when_the_redis_master_fails_over_then_no_call_is_lost(
    how, sentinel, people, apps
):
    """A Redis failover drops no bridged call, never gives an agent two calls, and routing resumes within seconds."""
    files = config_files(wrap_up=1.0)
    files["callcontrol.yaml"] = callcontrol_yaml()
    config = apps.config(files)
    app = apps.start(config_dir=config, env={"CALLCONTROL_REDIS_URL": ""})  # the sentinels only
    watch = ReservationWatch("", client=sentinel.master)
    watch.start()
    alice = people.agent("1001", answer_after=0.2)
    bruno = people.agent("1002", answer_after=0.2)
    chloe = people.agent("1003", answer_after=0.2)
    login(config, "alice")

    talking = people.citizen("0612345678", hangup_after=TALK)
    app.wait_for("call_step", step="connected", agent="alice", timeout=10)
    waiting = people.citizen("0698765432", hangup_after=TALK + 2)  # nobody free: she waits
    wait_until(lambda: sentinel.master().zcard("cc:hotline:etat-civil:waiting") == 1, 10, "the second citizen queued")

    old = sentinel.kill_master() if how == "kill_master" else sentinel.failover()
    new, took = sentinel.wait_new_master(old)
    app.wait_for("redis_master_switched", new=f"127.0.0.1:{new}", timeout=5)
    print(f"{how}: master {old} -> {new} named by the sentinels after {took:.2f} s")

    login(config, "bruno")  # through the sentinels: the new master
    app.wait_for("call_step", step="connected", agent="bruno", timeout=5)  # the waiting citizen is served at once
    login(config, "chloe")
    began = time.monotonic()
    newcomer = people.citizen("0611223344", hangup_after=8)
    app.wait_for("call_step", step="connected", agent="chloe", timeout=10)
    routed_in = time.monotonic() - began
    assert routed_in < 5, f"a new citizen reached a free agent {routed_in:.1f} s after calling"

    # The bridged call lived through the failover: nobody got a BYE before the citizen hung up herself.
    assert not talking.received("BYE") and not alice.received("BYE"), talking.describe() + alice.describe()
    assert talking.wait(TALK + 10) == 0, talking.describe()
    assert not talking.received("BYE"), talking.describe()
    alice.wait_until(lambda: alice.received("BYE"), 5, "BYE to alice after the citizen hung up")
    assert newcomer.wait(15) == 0, newcomer.describe()
    assert waiting.wait(15) == 0, waiting.describe()
    assert not waiting.received("BYE"), waiting.describe()  # served, and she hung up herself

    watch.stop()
    assert watch.violations == [], watch.violations
    assert watch.samples > 100, (watch.samples, watch.errors)
    for phone in (alice, bruno, chloe):
        assert len(phone.received("INVITE")) == 1, phone.describe()  # one call each, never a second one
        assert not overlaps(dialogs(phone.messages()).get("phone", [])), phone.describe()
    entries = wait_until(
        lambda: (found := [json.loads(f["json"]) for _id, f in sentinel.master().xrange("cc:journal")])
        and len(found) >= 3 and found,
        10,
        "journal entries on the new master",
    )
    outcomes = sorted((e["outcome"], e["agent"]) for e in entries)
    assert outcomes == [("answered", "alice"), ("answered", "bruno"), ("answered", "chloe")], entries
    assert not app.events("call_failed") and not app.events("call_cleanup_failed")
