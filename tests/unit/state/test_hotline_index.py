"""The indexes the Lua scripts keep (per hotline: reachable members, ready members; the logged-in agents): always
what a full scan of the presences would say, through every presence change, so the enqueue, the claim and the
state check need no scan."""

from __future__ import annotations

import random

from callcontrol.state import AgentStatus, Device, StateError, StateLayer
from callcontrol.state.epoch import StateEpoch

from .helpers import HOTLINE, Clock, agent, staff

OTHER = "urbanisme"
REACHABLE = {AgentStatus.AVAILABLE, AgentStatus.RINGING, AgentStatus.ON_CALL, AgentStatus.WRAP_UP}


async def scanned(state: StateLayer, hotline: str) -> tuple[set[str], set[str]]:
    """What the indexes must hold, from every member's presence (the scan the enqueue used to do)."""
    members = [a for a, _ in await state.agents.members(hotline)]
    states = await state.agents.states(members) if members else []
    reachable = {s.agent_id for s in states if s.status in REACHABLE and s.reachable}
    ready = {
        s.agent_id for s in states
        if s.status in (AgentStatus.AVAILABLE, AgentStatus.WRAP_UP) and not s.reserved_by and s.device and s.reachable
    }
    return reachable, ready


async def assert_indexes_right(state: StateLayer, *hotlines: str) -> None:
    redis, keys = state.store.redis, state.store.keys
    for hotline in hotlines:
        reachable, ready = await scanned(state, hotline)
        assert set(await redis.smembers(keys.reachable(hotline))) == reachable, hotline
        assert set(await redis.zrange(keys.ready(hotline), 0, -1)) == ready, hotline
        penalties = dict(await state.agents.members(hotline))
        assert set(await redis.zrange(keys.ready_by_id(hotline), 0, -1)) == {
            f"{penalties[a]:010d}:{a}" for a in ready
        }, hotline
        assert set(await redis.zrangebyscore(keys.ready_by_id(hotline), 0, 0)) == set(
            await redis.zrange(keys.ready_by_id(hotline), 0, -1)
        )  # every score 0: the lex order is the order
        assert await state.agents.reachable_count(hotline) == len(reachable)
    everyone = await state.agents.states()
    assert await state.agents.logged_in_ids() == sorted(
        s.agent_id for s in everyone if s.status is not AgentStatus.LOGGED_OUT
    )


async def test_reachable_count_follows_login_pause_claim_release_and_logout(state: StateLayer, clock: Clock) -> None:
    """Available, ringing, on a call and in wrap-up count as reachable; paused and logged out do not."""
    await staff(state, clock, "1001", "1002")
    assert await state.agents.reachable_count(HOTLINE) == 2
    await state.agents.pause("1002", "lunch")
    assert await state.agents.reachable_count(HOTLINE) == 1
    await state.queues.enqueue("c1", HOTLINE, owner="i1")
    claim = await state.queues.claim(HOTLINE, "longest_idle", instance="i1")
    assert claim is not None and claim.agent_id == "1001"
    await assert_indexes_right(state, HOTLINE)  # ringing: reachable, not ready
    await state.queues.connect("c1", "1001")
    assert await state.agents.reachable_count(HOTLINE) == 1
    await state.queues.release("1001", wrap_up_seconds=30)
    await assert_indexes_right(state, HOTLINE)  # wrap-up: reachable and in the ready index (expires lazily)
    await state.agents.logout("1001")
    assert await state.agents.reachable_count(HOTLINE) == 0
    assert await state.agents.logged_in_ids() == ["1002"]  # paused is still logged in
    await state.agents.unpause("1002")
    assert await state.agents.reachable_count(HOTLINE) == 1
    await assert_indexes_right(state, HOTLINE)


async def test_unregistered_softphone_and_auto_pause_leave_the_index(state: StateLayer, clock: Clock) -> None:
    """A softphone that is not registered, or an agent auto-paused after a no-answer, is nobody to answer."""
    await staff(state, clock, "1001")
    await state.agents.set_reachable("1001", Device.SOFTPHONE, False)
    assert await state.agents.reachable_count(HOTLINE) == 0
    await state.agents.set_reachable("1001", Device.SOFTPHONE, True)
    assert await state.agents.reachable_count(HOTLINE) == 1
    await state.queues.enqueue("c1", HOTLINE, owner="i1")
    assert await state.queues.claim(HOTLINE, "linear", instance="i1") is not None
    outcome = await state.queues.release_no_answer("c1", "1001", max_misses=1)
    assert outcome.auto_paused
    assert await state.agents.reachable_count(HOTLINE) == 0
    await assert_indexes_right(state, HOTLINE)


async def test_directory_sync_rebuilds_the_indexes_of_every_hotline(state: StateLayer, clock: Clock) -> None:
    """Membership changes and removed agents are reflected at once; a lost index is rebuilt by the next sync."""
    await staff(state, clock, "1001", "1002")
    await state.agents.sync_agents([agent("1001", {HOTLINE: 0, OTHER: 1}), agent("1003")])
    await assert_indexes_right(state, HOTLINE, OTHER)
    assert await state.agents.reachable_count(OTHER) == 1  # 1001 is logged in: reachable on her new hotline too
    assert await state.agents.reachable_count(HOTLINE) == 1  # 1002 was removed, 1003 is logged out
    await state.store.redis.delete(state.store.keys.reachable(HOTLINE), state.store.keys.ready(HOTLINE),
                                   state.store.keys.ready_by_id(HOTLINE))
    await state.agents.sync_agents([agent("1001", {HOTLINE: 0, OTHER: 1}), agent("1003")])
    assert await state.agents.reachable_count(HOTLINE) == 1
    await state.agents.sync_agents([agent("1001", {HOTLINE: 7, OTHER: 1}), agent("1003")])  # a new penalty
    await assert_indexes_right(state, HOTLINE, OTHER)


async def test_presence_lost_agents_are_nobody_to_answer(state: StateLayer, clock: Clock) -> None:
    """After Redis lost its data and the directory is synced again, the agents marked presence_lost count for none."""
    await staff(state, clock, "1001")
    await state.store.redis.flushdb()
    await state.agents.sync_agents([agent("1001")])
    assert await StateEpoch(state.store).mark_presence_lost(["1001"]) == ["1001"]
    assert await state.agents.reachable_count(HOTLINE) == 0
    await assert_indexes_right(state, HOTLINE)


async def test_claim_ignores_busy_members_yet_keeps_each_strategy_order(state: StateLayer, clock: Clock) -> None:
    """Only free members are in the ready index; the strategies still pick as before (penalty tier, idle, id)."""
    ids = [f"a{i:03d}" for i in range(60)]
    await staff(state, clock, *ids, penalties={"a050": 0, **{a: 1 for a in ids if a != "a050"}})
    for a in ids[:40]:
        await state.agents.pause(a, "lunch")
    assert await state.store.redis.zcard(state.store.keys.ready(HOTLINE)) == 20
    await state.queues.enqueue("c1", HOTLINE, owner="i1")
    claim = await state.queues.claim(HOTLINE, "longest_idle", instance="i1")
    assert claim is not None and claim.agent_id == "a050"  # the only one in penalty tier 0
    await state.queues.enqueue("c2", HOTLINE, owner="i1")
    claim = await state.queues.claim(HOTLINE, "longest_idle", instance="i1")
    assert claim is not None and claim.agent_id == "a040"  # tier 1: logged in first of the free ones
    await state.queues.enqueue("c3", HOTLINE, owner="i1")
    claim = await state.queues.claim(HOTLINE, "ring_all", instance="i1")
    assert claim is not None and claim.agent_ids == tuple(a for a in ids[41:] if a != "a050")
    await assert_indexes_right(state, HOTLINE)


async def test_expired_wrap_up_in_the_index_is_claimed_and_unexpired_one_skipped(
    state: StateLayer, clock: Clock
) -> None:
    """An agent in wrap-up stays in the ready index; a claim takes her only once her wrap-up is over."""
    await staff(state, clock, "1001", "1002")
    await state.agents.set_wrap_up("1001", clock.t + 10)
    await state.agents.pause("1002", "lunch")
    await state.queues.enqueue("c1", HOTLINE, owner="i1")
    assert await state.queues.claim(HOTLINE, "longest_idle", instance="i1") is None
    clock.advance(11)
    claim = await state.queues.claim(HOTLINE, "longest_idle", instance="i1")
    assert claim is not None and claim.agent_id == "1001"


async def test_indexes_stay_right_through_a_random_day(state: StateLayer, clock: Clock) -> None:
    """Hundreds of random presence changes, claims, answers, no-answers, releases and hang-ups on two hotlines:
    after each one the indexes equal a full scan (seeded, so a failure replays)."""
    rng = random.Random(12)
    ids = [f"ag{i}" for i in range(6)]
    await state.agents.sync_agents([agent(a, {HOTLINE: i % 2, OTHER: 0} if i % 3 else {HOTLINE: 0}) for i, a in
                                    enumerate(ids)])
    calls = 0
    for _step in range(400):
        clock.advance(rng.choice([0.5, 1, 5]))
        a = rng.choice(ids)
        op = rng.choice(["login", "logout", "pause", "unpause", "wrap", "end_wrap", "reach", "claim", "connect",
                         "release", "no_answer", "leave", "own_begin", "own_end"])
        try:
            if op == "login":
                await state.agents.login(a, Device.SOFTPHONE)
            elif op == "logout":
                await state.agents.logout(a)
            elif op == "pause":
                await state.agents.pause(a, "lunch")
            elif op == "unpause":
                await state.agents.unpause(a)
            elif op == "wrap":
                await state.agents.set_wrap_up(a, clock.t + rng.choice([1, 10]))
            elif op == "end_wrap":
                await state.agents.end_wrap_up(a)
            elif op == "reach":
                await state.agents.set_reachable(a, Device.SOFTPHONE, rng.random() < 0.6)
            elif op == "claim":
                calls += 1
                hotline = rng.choice([HOTLINE, OTHER])
                await state.queues.enqueue(f"c{calls}", hotline, owner="i1")
                await state.queues.claim(hotline, rng.choice(["longest_idle", "linear", "round_robin", "ring_all"]),
                                         instance="i1")
            elif op in ("connect", "no_answer", "leave"):
                s = await state.agents.get_state(a)
                if s.reserved_by and op == "connect":
                    await state.queues.connect(s.reserved_by, a)
                elif s.reserved_by and op == "no_answer":
                    await state.queues.release_no_answer(s.reserved_by, a, max_misses=2)
                elif s.reserved_by:
                    await state.queues.leave(s.reserved_by)
            elif op == "release":
                await state.queues.release(a, wrap_up_seconds=rng.choice([0, 3]))
            elif op == "own_begin":
                await state.agents.begin_own_call(a, f"own-{a}")
            else:
                await state.agents.end_own_call(a, f"own-{a}")
        except StateError:
            pass  # refused transitions (a busy agent paused, ...) change nothing
        await assert_indexes_right(state, HOTLINE, OTHER)


async def test_linear_and_round_robin_read_the_id_index_in_order(state: StateLayer, clock: Clock) -> None:
    """linear and round_robin pick from the id index as the full sort of the free members did (best tier, then id),
    past pages of busy members; round_robin goes on after the last one rung and wraps; excluded agents are skipped."""
    ids = [f"a{i:03d}" for i in range(150)]
    await staff(state, clock, *ids, penalties={a: 0 if i < 70 else 1 if i < 140 else 2 for i, a in enumerate(ids)})
    for a in ids[:69] + ids[71:100]:  # tier 0: a069 alone free, behind 69 busy; tier 1: a070 and a100..a139
        await state.agents.pause(a, "lunch")
    calls = iter(f"c{i}" for i in range(1000))

    async def claim(strategy: str) -> str:
        call = next(calls)
        await state.queues.enqueue(call, HOTLINE, owner="i1")
        got = await state.queues.claim(HOTLINE, strategy, instance="i1")
        assert got is not None and len(got.agent_ids) == 1
        await state.queues.connect(call, got.agent_id)
        await state.queues.release(got.agent_id)
        return got.agent_id

    assert await claim("linear") == "a069"
    await state.agents.pause("a069", "lunch")
    assert await claim("linear") == "a070"
    tier1 = ["a070", *ids[100:140]]
    assert [await claim("round_robin") for _ in range(len(tier1) + 2)] == [*tier1, "a070", "a100"]
    await state.queues.enqueue("x", HOTLINE, owner="i1")
    got = await state.queues.claim_agent_for_call("x", HOTLINE, "round_robin", ["a101", "a102"], instance="i1")
    assert got is not None and got.agent_id == "a103"
    await state.queues.connect("x", "a103")
    await state.queues.release("a103")
    for a in tier1[4:]:
        await state.agents.pause(a, "lunch")  # tier 1: a070 to a102 free, all before a103 (the last one rung)
    assert [await claim("round_robin") for _ in range(3)] == ["a070", "a100", "a101"]
    await assert_indexes_right(state, HOTLINE)
