"""An agent's own calls from her softphone (Stasis kind `internal`, dialplan [from-agents]): a colleague by
extension, or a citizen called back through the carrier as the town hall. A call that cannot go through always
gets a short prompt and a clean hangup, never a bare decline.

- The calling agent is the one whose softphone is the channel's PJSIP endpoint ("PJSIP/1001-00000003" -> 1001).
- A colleague's phone shows the caller as the directory names her ("Alice Martin" <1001>); busy (on a call or
  ringing, in presence or on the phone itself) or unregistered -> a prompt.
- An outside number must pass the dial-out allow-list (routing/dial_out.py) and leaves with the public identity
  only (calls/legs.py PublicIdentity): never the agent's extension, name or mobile.
- While the call lasts, the agents on it are on_call in presence (no hotline call offered on top), and are given
  back the state they had when it ends (state/agents.py begin_own_call / end_own_call).
The legs follow calls/legs.py: a colleague's is an agent leg, an outside number's a transfer leg, so that a
restarted instance finds them again from the call id.
"""

from __future__ import annotations

import structlog
from redis.exceptions import RedisError

from callcontrol import numbers
from callcontrol.ari.client import AriClient
from callcontrol.ari.errors import AriError, ResourceGone, quietly
from callcontrol.ari.models import ChannelDestroyed, ChannelHangupRequest, Event, StasisStart
from callcontrol.calls.errors import CallEnded
from callcontrol.calls.legs import AGENT_LEG, TRANSFER_LEG, PublicIdentity, is_leg_of, leg_args, new_leg_id
from callcontrol.calls.port import END_EVENTS, RoutedCall, is_about
from callcontrol.routing.dial_out import DialOutPolicy, looks_like_outside_number
from callcontrol.state.errors import AgentBusy, StateError
from callcontrol.state.layer import StateLayer
from callcontrol.state.models import AgentRecord

log = structlog.get_logger("callcontrol.routing")

INTERNAL = "internal"  # the Stasis kind of the agents' own calls
USER_BUSY = 17  # Q.850 cause of a busy phone (486 Busy Here)

PROMPT_BUSY = "callcontrol/own-call-busy"
PROMPT_UNREACHABLE = "callcontrol/own-call-unreachable"
PROMPT_UNKNOWN = "callcontrol/own-call-unknown"
PROMPT_REFUSED = "callcontrol/dial-out-refused"
PROMPT_NOT_AN_AGENT = "callcontrol/service-unavailable"


def softphone_of(channel_name: str) -> str | None:
    """The PJSIP endpoint of a channel name: "PJSIP/1001-00000003" -> "1001" (None for anything else)."""
    tech, _, rest = channel_name.partition("/")
    endpoint, dash, _seq = rest.rpartition("-")
    return endpoint if tech == "PJSIP" and dash and endpoint else None


def shown_as(agent: AgentRecord) -> str:
    """What a colleague's phone shows: the directory's name and the caller's extension."""
    name = agent.name.replace('"', "").strip() or agent.id
    return f'"{name}" <{agent.softphone}>'


class AgentCalls:
    def __init__(
        self,
        *,
        ari: AriClient,
        state: StateLayer,
        identity: PublicIdentity,
        policy: DialOutPolicy,
        ring_timeout: float = 45.0,
    ):
        self._ari = ari
        self._state = state
        self._identity = identity
        self._policy = policy
        self._ring_timeout = ring_timeout

    async def handle(self, call: RoutedCall) -> None:
        """The dispatcher's handler for kind `internal`. A failure still says something before the call ends."""
        try:
            await self._serve(call)
        except CallEnded:
            raise
        except Exception:
            try:
                await self._refuse(call, PROMPT_UNREACHABLE, "failed")
            except Exception as exc:  # the prompt is best effort; the dispatcher logs the first failure
                log.debug("own_call_prompt_failed", error=str(exc) or type(exc).__name__)
            raise

    async def _serve(self, call: RoutedCall) -> None:
        caller = await self._calling_agent(call)
        if caller is None:
            log.warning("own_call_not_an_agent", hint="no agent in the directory has this softphone")
            await self._refuse(call, PROMPT_NOT_AN_AGENT, "not_an_agent")
            return
        call.facts.agent = caller.id
        call.facts.device = "softphone"
        call.facts.reached = False
        if call.resumed:
            await self._carry_on(call, caller)
            return
        dialled = call.dialled
        colleague = None
        if dialled and dialled != caller.softphone:
            colleague = await self._state.agents.find_by_softphone(dialled)
        if colleague is not None:
            await self._call_colleague(call, caller, colleague)
        elif looks_like_outside_number(dialled) or dialled in self._policy.short_numbers:
            await self._call_out(call, caller, dialled)
        else:
            await self._refuse(call, PROMPT_UNKNOWN, "unknown_number")

    async def _calling_agent(self, call: RoutedCall) -> AgentRecord | None:
        channel = await self._ari.channel(call.channel_id)
        extension = softphone_of(channel.name)
        return await self._state.agents.find_by_softphone(extension) if extension else None

    # ------------------------------------------------------------------------------------------ a colleague

    async def _call_colleague(self, call: RoutedCall, caller: AgentRecord, colleague: AgentRecord) -> None:
        call.facts.callee = colleague.id
        call.note("own_call:colleague", agent=caller.id, colleague=colleague.id)
        extension = colleague.softphone or ""
        phone = await self._phone_state(extension)
        if phone != "online":
            await self._refuse(call, PROMPT_BUSY if phone == "busy" else PROMPT_UNREACHABLE, f"colleague_{phone}")
            return
        if not await self._mark(call, colleague, refuse_busy=True):
            await self._refuse(call, PROMPT_BUSY, "colleague_busy")
            return
        await self._mark(call, caller, refuse_busy=False)
        leg_id, answer = await self._ring(call, f"PJSIP/{extension}", AGENT_LEG, shown_as(caller), linked=True)
        if not isinstance(answer, StasisStart):
            await self._not_reached(call, answer)
            return
        await self._talk(call, leg_id)

    async def _phone_state(self, extension: str) -> str:
        """online, busy (the phone is on a call we may not know of) or offline (not registered, unknown)."""
        try:
            endpoint = await self._ari.request("GET", f"/endpoints/PJSIP/{extension}")
        except AriError:
            return "offline"
        if (endpoint or {}).get("state") != "online":
            return "offline"
        return "busy" if endpoint.get("channel_ids") else "online"

    # ------------------------------------------------------------------------------------------ the outside

    async def _call_out(self, call: RoutedCall, caller: AgentRecord, dialled: str) -> None:
        decision = self._policy.decide(dialled)
        masked = numbers.mask(decision.number or dialled, self._policy.region)
        call.facts.callee = masked
        if not decision.allowed:
            call.note("own_call:dial_out_refused", agent=caller.id, number=masked, reason=decision.reason)
            await self._refuse(call, PROMPT_REFUSED, "dial_out_refused")
            return
        call.note("own_call:dial_out", agent=caller.id, number=masked, type=decision.reason)
        await self._mark(call, caller, refuse_busy=False)
        endpoint = self._identity.external(decision.number)
        # Not linked to the agent's channel (no originator): nothing of hers may travel with the outside leg.
        leg_id, answer = await self._ring(call, endpoint, TRANSFER_LEG, self._identity.caller_id(), linked=False)
        if not isinstance(answer, StasisStart):
            await self._not_reached(call, answer)
            return
        await self._talk(call, leg_id)

    # ------------------------------------------------------------------------------------------ common steps

    async def _mark(self, call: RoutedCall, agent: AgentRecord, *, refuse_busy: bool) -> bool:
        """Show `agent` on_call for this call until it ends. False when she is busy (ringing, on a call). Redis
        away: the call goes on unmarked (a phone must work), said in the log."""
        try:
            try:
                await self._state.agents.begin_own_call(agent.id, call.call_id)
            except AgentBusy:
                if not await self._heal_stale_mark(agent.id):
                    raise
                await self._state.agents.begin_own_call(agent.id, call.call_id)
        except AgentBusy:
            if refuse_busy:
                return False
            log.info("own_call_caller_busy", agent=agent.id)  # e.g. a hotline call rings her while she dials
            return True
        except (StateError, RedisError) as exc:
            log.warning("own_call_mark_failed", agent=agent.id, error=str(exc) or type(exc).__name__)
            return True
        call.on_cleanup(lambda: self._unmark(agent.id, call.call_id))
        return True

    async def _heal_stale_mark(self, agent_id: str) -> bool:
        """An own call whose channel no longer exists (every instance stopped during it) keeps its agents
        on_call: release that mark. True when one was released."""
        stale = await self._state.agents.own_call_of(agent_id)
        if stale is None:
            return False
        try:
            await self._ari.channel(stale)
            return False  # that call is still up: she really is on the phone
        except ResourceGone:
            pass
        log.info("own_call_stale_mark_released", agent=agent_id, stale_call=stale)
        await self._state.agents.end_own_call(agent_id, stale)
        return True

    async def _unmark(self, agent_id: str, call_id: str) -> None:
        try:
            await self._state.agents.end_own_call(agent_id, call_id)
        except (StateError, RedisError) as exc:
            log.warning("own_call_unmark_failed", agent=agent_id, error=str(exc) or type(exc).__name__)

    async def _ring(
        self, call: RoutedCall, endpoint: str, kind: str, caller_id: str, *, linked: bool
    ) -> tuple[str, Event | None]:
        """Ring the other side while the agent hears ringback: (leg id, its StasisStart when answered, else the
        event that ended it or None)."""
        leg_id = new_leg_id(call.call_id, kind)
        call.attach_leg(leg_id)  # hung up when the call ends, whatever the reason
        await quietly(self._ari.ring(call.channel_id))
        try:
            await self._ari.originate(
                endpoint,
                channel_id=leg_id,
                app_args=leg_args(kind, call.call_id),
                caller_id=caller_id,
                timeout=max(1, round(self._ring_timeout)),
                originator=call.channel_id if linked else None,
            )
        except AriError as exc:
            log.warning("own_call_originate_failed", error=exc.message)
            return leg_id, None
        event = await call.take(lambda e: is_about(e, leg_id, (StasisStart, *END_EVENTS)), self._ring_timeout + 2)
        return leg_id, event

    async def _not_reached(self, call: RoutedCall, ended: Event | None) -> None:
        busy = isinstance(ended, (ChannelDestroyed, ChannelHangupRequest)) and ended.cause == USER_BUSY
        await self._refuse(call, PROMPT_BUSY if busy else PROMPT_UNREACHABLE, "busy" if busy else "no_answer")

    async def _talk(self, call: RoutedCall, leg_id: str) -> None:
        """Both sides up: one mixing bridge (native RTP when it can) until the other side hangs up (the agent hanging
        up ends the call's task)."""
        call.facts.reached = True
        await quietly(self._ari.ring_stop(call.channel_id))
        await call.answer()
        bridge = await self._ari.create_bridge("mixing", name=f"cc-own-{call.call_id}")
        call.on_cleanup(lambda: quietly(self._ari.destroy_bridge(bridge.id)))
        await self._ari.add_channel(bridge.id, [call.channel_id, leg_id])
        call.note("own_call:connected")
        await call.wait_channel_end(leg_id)
        call.note("own_call:other_side_hung_up")

    async def _refuse(self, call: RoutedCall, sound: str, reason: str) -> None:
        """A short prompt, then a clean hangup (the agent's phone gets audio, then a BYE)."""
        call.note("own_call:refused", reason=reason)
        await quietly(self._ari.ring_stop(call.channel_id))
        await call.answer()
        await call.play([sound])
        await call.hangup("normal")

    # ------------------------------------------------------------------------------------------ restarts

    async def _carry_on(self, call: RoutedCall, caller: AgentRecord) -> None:
        """Adopted after a restart: a conversation still up goes on (its marks released at the end); anything
        else (still ringing, already over) ends now."""
        legs = [c for c in await self._ari.channels() if is_leg_of(c.id, call.call_id)]
        colleague = await self._state.agents.find_by_softphone(call.dialled) if call.dialled else None
        call.on_cleanup(lambda: self._unmark(caller.id, call.call_id))
        if colleague is not None:
            call.on_cleanup(lambda: self._unmark(colleague.id, call.call_id))
        for leg in legs:
            call.attach_leg(leg.id)
        up = [leg for leg in legs if leg.state == "Up"]
        if not up:
            await self._refuse(call, PROMPT_UNREACHABLE, "dropped_on_restart")
            return
        call.facts.reached = True
        call.note("own_call:connected:resumed")
        await call.wait_channel_end(up[0].id)
