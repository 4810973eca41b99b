"""Load-time validation of flows, schedules and hotlines: every error located, worded for a city clerk."""

from __future__ import annotations

from pathlib import Path

import pytest
from flow_fakes import FIXTURE_SOUNDS, REPO, demo_sounds, make_config, settings

from callcontrol.flows import load_flows
from callcontrol.flows.schema import GatherStep, HangupStep, PlayStep, SayStep, TransferStep
from callcontrol.yamlsource import ConfigError


def problems(config: Path, known_sounds: set[str] | None = None) -> list[str]:
    """The messages, with files spelt from the config directory as given (here tmp/config/...: shown config/...)."""
    with pytest.raises(ConfigError) as caught:
        load_flows(config, settings(), known_sounds=known_sounds)
    return [str(issue).replace(f"{config.parent}/", "") for issue in caught.value.issues]


def test_demo_city_loads_with_every_sound_installed():
    """The shipped demo (config/) is valid, and every sound it plays has a line in the prompts files."""
    flows = load_flows(REPO / "config", settings(), known_sounds=demo_sounds())
    assert flows.entries == {"inbound": "main"}
    assert set(flows.flows) == {"main", "closed", "voicemail"}
    assert set(flows.hotlines) == {"etat-civil", "urbanisme", "services-techniques", "ccas", "standard", "astreinte"}
    assert flows.hotlines["astreinte"].schedule is None
    assert flows.hotlines["etat-civil"].schedule == "mairie"


def test_every_verb_and_option_form_loads(tmp_path):
    """A file using every verb, in long and short forms, loads without issues."""
    flows = load_flows(make_config(tmp_path, "every_verb.yaml"), settings(), known_sounds=FIXTURE_SOUNDS)
    start = flows.flows["start"]
    assert isinstance(start.steps[0], PlayStep)
    assert start.steps[0].play.sounds == ["callcontrol/welcome", "digits:12"]
    assert isinstance(start.steps[3], SayStep)
    gather = start.steps[5]
    assert isinstance(gather, GatherStep)
    assert gather.gather.on == {"1": "hours", "12": "flow:vip", "*": "bye"}  # YAML's `on:` and int keys mended
    assert start.index["bye"] == len(start.steps) - 1
    assert isinstance(start.steps[-1], HangupStep)
    assert flows.entries == {"inbound": "start", "agents-line": "vip"}
    assert flows.caller_lists["elus"] == frozenset({"+33612000002", "+33612000003"})
    assert flows.allowed_numbers == frozenset({"+33612000001"})
    assert flows.resolve("start", "flow:vip") == ("vip", 0)
    assert flows.resolve("start", "menu") == ("start", 5)


def test_known_sounds_none_skips_the_sound_check(tmp_path):
    """Without Asterisk's sound list (None), sound names are not checked."""
    config = make_config(tmp_path, "sounds.yaml")
    assert problems(config) == [
        "config/flows/sounds.yaml:4: flows.main[0].play.sounds[3]: 'sond:x': unknown media kind 'sond'; "
        "use a sound name such as callcontrol/welcome"
    ]


def test_unknown_sounds_are_named_with_a_suggestion(tmp_path):
    """A sound Asterisk does not have is reported where it is used, with the closest installed name."""
    assert problems(make_config(tmp_path, "sounds.yaml"), FIXTURE_SOUNDS) == [
        "config/flows/sounds.yaml:4: flows.main[0].play.sounds[0]: sound 'callcontrol/welcom' is not installed in "
        "Asterisk (did you mean 'callcontrol/welcome'?)",
        "config/flows/sounds.yaml:4: flows.main[0].play.sounds[3]: 'sond:x': unknown media kind 'sond'; "
        "use a sound name such as callcontrol/welcome",
        "config/flows/sounds.yaml:5: flows.main[1].gather.invalid_sound[0]: sound 'callcontrol/nope' is not "
        "installed in Asterisk (did you mean 'callcontrol/goodbye'?)",
    ]


def test_unknown_goto_targets_list_the_known_steps(tmp_path):
    """A branch to a step id or flow that does not exist names it, suggests a fix and lists what exists."""
    assert problems(make_config(tmp_path, "unknown_step.yaml")) == [
        "config/flows/unknown_step.yaml:8: flows.main[0].gather.on.1: unknown step 'etat-civl' "
        "(did you mean 'etat-civil'?); known steps: menu, etat-civil",
        "config/flows/unknown_step.yaml:9: flows.main[0].gather.on.2: unknown flow 'urbanisme'; known flows: main",
    ]


def test_unknown_schedule_hotline_and_caller_list(tmp_path):
    """References to schedules.yaml, hotlines.yaml and caller lists must resolve; numbers must be numbers."""
    assert problems(make_config(tmp_path, "unknown_refs.yaml")) == [
        "config/flows/unknown_refs.yaml:5: flows.main[0].schedule.name: unknown schedule 'ofice' "
        "(did you mean 'office'?); known schedules: office",
        "config/flows/unknown_refs.yaml:7: flows.main[1].enqueue.hotline: unknown hotline 'helpp' "
        "(did you mean 'help'?); known hotlines: help, other",
        "config/flows/unknown_refs.yaml:9: flows.main[2].when_caller.known.elus: unknown caller list 'elus'; "
        "known caller lists: none defined",
        "config/flows/unknown_refs.yaml:9: flows.main[2].when_caller.known.+33 abc: '+33 abc' is not a phone number",
    ]


def test_unreachable_flow(tmp_path):
    """A flow no entry and no branch leads to is reported (dead configuration hides mistakes)."""
    assert problems(make_config(tmp_path, "unreachable.yaml")) == [
        "config/flows/unreachable.yaml:6: flows.forgotten: flow 'forgotten' is unreachable: no entry and no "
        "goto/branch leads to it (entries: inbound -> main); use it as a flow:forgotten target or remove it"
    ]


def test_loops_that_never_wait_are_rejected(tmp_path):
    """A cycle of steps none of which plays, gathers, pauses or records would spin: each cycle reported once."""
    issues = problems(make_config(tmp_path, "spin.yaml"))
    assert issues[:2] == [
        "config/flows/spin.yaml:4: flows.main[0]: these steps loop without ever waiting for the caller, the call "
        "would spin: main[0] (schedule) -> main[1] (goto) -> back; put a play, gather or pause in the loop",
        "config/flows/spin.yaml:8: flows.closed[0]: these steps loop without ever waiting for the caller, the call "
        "would spin: closed[0] (language) -> closed[1] (goto) -> back; put a play, gather or pause in the loop",
    ]
    # The gather that loops on itself waits for the caller: only its flow's unreachability is reported.
    assert len(issues) == 3 and "flow 'waits' is unreachable" in issues[2]


def test_transfer_numbers_must_be_in_the_allow_list(tmp_path):
    """transfer may only dial numbers listed in allow_transfer_to (national forms match their E.164 form)."""
    assert problems(make_config(tmp_path, "transfer.yaml")) == [
        "config/flows/transfer.yaml:7: flows.main[2].transfer.number: transfer to +33899000000 is not allowed: "
        "add it to allow_transfer_to in config/flows/transfer.yaml (only listed numbers may be dialled out, "
        "against toll fraud)",
        "config/flows/transfer.yaml:8: flows.main[3].transfer.number: 'not-a-number' is not a phone number",
    ]


def test_step_shapes_and_option_values_are_explained(tmp_path):
    """Unknown verbs and options, two verbs in a step, bad values: each located and worded plainly."""
    verbs = (
        "play, say, gather, goto, schedule, when_caller, language, record, transfer, enqueue, callback, pause, hangup"
    )
    at = "config/flows/shapes.yaml"
    assert problems(make_config(tmp_path, "shapes.yaml")) == [
        f"{at}:4: flows.main[0].paly: unknown verb 'paly' (did you mean 'play'?); verbs: {verbs}",
        f"{at}:5: flows.main[1]: one verb per step; this step has play, hangup",
        f"{at}:7: flows.main[2]: step has no verb; use one of: {verbs}",
        f"{at}:8: flows.main[3].gather.retires: unknown option 'retires' (did you mean 'retries'?); "
        "see docs/flows.md for this verb's options",
        f"{at}:9: flows.main[4].say: expected options as a mapping (key: value); see docs/flows.md",
        f"{at}:10: flows.main[5].say: say needs exactly one of digits, number or date",
        f"{at}:11: flows.main[6].gather.max_digits: Input should be greater than or equal to 1",
        f"{at}:12: flows.main[7].gather: menu key '1a' must be keypad keys (0-9, * or #)",
        f"{at}:13: flows.main[8].enqueue.on: unknown outcome 'timout'; use one of: answered, closed, timeout, "
        "full, unavailable, abandoned, voicemail, callback",
        f"{at}:14: flows.main[9].pause.seconds: Input should be a valid number, unable to parse string as a number",
        f"{at}:15: flows.main[10].goto.target: 'two words' is not a valid target: use a step id (e.g. main-menu) "
        "or flow:ID (e.g. flow:closed)",
        f"{at}:16: flows.main[11]: a step is a verb with its options, e.g. '- play: ...'; got 'play'",
    ]


def test_flow_ids_entries_and_step_ids_are_unique(tmp_path):
    """A flow id or entry defined in two files, or a step id used twice in a flow, is an error."""
    assert problems(make_config(tmp_path, "duplicates_a.yaml", "duplicates_b.yaml")) == [
        "config/flows/duplicates_a.yaml:6: flows.main[1].id: step id 'same' is used twice in flow 'main'",
        "config/flows/duplicates_b.yaml:1: entry.inbound: entry 'inbound' is already declared in "
        "config/flows/duplicates_a.yaml",
        "config/flows/duplicates_b.yaml:3: flows.main: flow 'main' is already defined in "
        "config/flows/duplicates_a.yaml; flow ids are unique",
    ]


def test_inbound_entry_is_required_and_entries_must_exist(tmp_path):
    """Some file must declare entry: {inbound: FLOW}; every entry must name an existing flow."""
    assert problems(make_config(tmp_path, "no_entry.yaml")) == [
        "config/flows/no_entry.yaml:1: entry.agents-line: unknown flow 'nowhere'; known flows: main",
        "config/flows/no_entry.yaml:1: entry: no flow takes incoming calls: declare entry: {inbound: FLOW} in one "
        "flow file",
        "config/flows/no_entry.yaml:3: flows.main: flow 'main' is unreachable: no entry and no goto/branch leads "
        "to it (entries: agents-line -> nowhere); use it as a flow:main target or remove it",
    ]


def test_schedule_errors_are_all_reported(tmp_path):
    """Bad zone, backwards or malformed ranges, overlaps, repeated or unknown days, bad closures: all at once."""
    at = "config/schedules.yaml"
    issues = problems(make_config(tmp_path, "every_verb.yaml", schedules="bad_schedules.yaml"))
    assert issues == [
        f"{at}:3: schedules.office.timezone: unknown time zone 'Europe/Pariss'; use an IANA name such as Europe/Paris",
        f"{at}:5: schedules.office.hours.mon-fri[0]: time range '17:00-09:00' ends before it starts",
        f"{at}:5: schedules.office.hours.mon-fri[1]: '8h30-12h' is not a time range; write HH:MM-HH:MM, "
        "e.g. 08:30-12:00",
        f"{at}:6: schedules.office.hours.sat[1]: time range '11:00-13:00' overlaps or comes before the previous one",
        f"{at}:7: schedules.office.hours.fri: fri is given hours twice; keep one line per day",
        f"{at}:8: schedules.office.hours.sunday: 'sunday' is not a day or day range; use mon, tue, wed, thu, fri, "
        "sat, sun, mon-fri",
        f"{at}:10: schedules.office.closures[0].date: '2026-13-01' is not a date; write YYYY-MM-DD, e.g. 2026-12-24",
        f"{at}:11: schedules.office.closures[1].from: '25:00' is not a time; write HH:MM, e.g. 12:00",
        f"{at}:12: schedules.office.closures[2].to: closure ends (2026-07-01) before it starts (2026-08-01)",
        f"{at}:13: schedules.office.closures[3]: from/until apply to a single date; split the closure in two",
        f"{at}:14: schedules.office.closures[4].mesage: unknown key 'mesage' (did you mean 'message'?); "
        "allowed: date, to, from, until, reason, message",
        f"{at}:15: schedules.office.closures[5]: write a closure as DATE, DATE from HH:MM, DATE until HH:MM "
        "or DATE to DATE",
        f"{at}:16: schedules.office.holiday: unknown key 'holiday' (did you mean 'holidays'?); "
        "allowed: hours, timezone, holidays, closures, manual_scope",
    ]  # the flow and hotline that use the broken schedule are not blamed for it


def test_hotline_schedule_must_exist(tmp_path):
    """A hotline's schedule reference must name a schedule of schedules.yaml."""
    config = make_config(tmp_path, "every_verb.yaml", texts={"hotlines.yaml": "hotlines:\n  help:\n    schedule: x\n"})
    issues = problems(config)
    assert issues[0] == "config/hotlines.yaml:3: hotlines.help.schedule: unknown schedule 'x'; known schedules: office"
    assert "unknown hotline 'other'" in issues[-1]


def test_issues_from_every_file_come_together(tmp_path):
    """A YAML syntax error in one file does not hide the problems of the others, nor bad dates (located at their
    line); a flow the unreadable file may define (flow:urbanisme) is not also reported unknown."""
    config = make_config(
        tmp_path,
        "broken_yaml.yaml",
        "unknown_step.yaml",
        texts={"schedules.yaml": "schedules:\n  office:\n    hours: {mon: []}\n    closures: [2026-13-01]\n"},
    )
    assert problems(config) == [
        "config/schedules.yaml:4: schedules.office.closures[0].date: '2026-13-01' is not a date; write YYYY-MM-DD, "
        "e.g. 2026-12-24",
        "config/flows/broken_yaml.yaml:4: (top level): invalid YAML: expected ',' or ']', but got '<stream end>'",
        "config/flows/unknown_step.yaml:8: flows.main[0].gather.on.1: unknown step 'etat-civl' "
        "(did you mean 'etat-civil'?); known steps: menu, etat-civil",
    ]


def test_no_flow_files(tmp_path):
    """An empty config/flows/ is an error: the public number would have nothing to run."""
    config = make_config(tmp_path)
    assert problems(config) == ["config/flows: (top level): no flow files (*.yaml) found"]


def test_transfer_numbers_are_normalised_for_the_runner(tmp_path):
    """A transfer written in national form reaches the runner in E.164, as in the allow-list."""
    text = "entry: {inbound: m}\nallow_transfer_to: ['06 12 00 00 01']\nflows:\n  m:\n    - transfer: '0612000001'\n"
    flows = load_flows(make_config(tmp_path, texts={"flows/t.yaml": text}), settings())
    step = flows.flows["m"].steps[0]
    assert isinstance(step, TransferStep) and step.transfer.number == "+33612000001"
    assert flows.allowed_numbers == {"+33612000001"}


def test_enqueue_branches_that_can_never_fire_are_refused(tmp_path):
    """`closed` for a hotline without a schedule, `full` for one without max_length: located, with the fix."""
    issues = problems(make_config(tmp_path, "dead_outcomes.yaml"))
    at = "config/flows/dead_outcomes.yaml"
    assert issues[:2] == [
        f"{at}:6: flows.main[0].enqueue.on.closed: hotline 'other' keeps no schedule, so it is never closed: "
        "give it schedule: NAME in config/hotlines.yaml or remove this branch",
        f"{at}:6: flows.main[0].enqueue.on.full: hotline 'other' has no max_length (0: unlimited), so its queue is "
        "never full: set max_length in config/hotlines.yaml or remove this branch",
    ]
    assert not any("unavailable" in i or "timeout" in i for i in issues)  # Redis away, max_wait: always possible


def test_enqueue_branch_on_abandoned_is_refused(tmp_path):
    """No step can follow an abandoned call: the caller has hung up, so `on: {abandoned: ...}` is an error."""
    issues = problems(make_config(tmp_path, "dead_outcomes.yaml"))
    assert issues[2:] == [
        "config/flows/dead_outcomes.yaml:11: flows.main[1].enqueue.on.abandoned: no branch can follow "
        "'abandoned': the caller has hung up by then; remove this branch"
    ]  # help keeps the office schedule: its `closed` branch can fire


def test_enqueue_branches_the_hotline_can_take_are_accepted(tmp_path):
    """`full` is fine once the hotline has a max_length, `closed` once it keeps a schedule."""
    hotlines = "hotlines:\n  help:\n    schedule: office\n    max_length: 5\n"
    text = "entry: {inbound: m}\nflows:\n  m:\n    - enqueue: {hotline: help, on: {full: bye, closed: bye}}\n"
    text += "    - id: bye\n      hangup:\n"
    config = make_config(tmp_path, texts={"hotlines.yaml": hotlines, "flows/t.yaml": text})
    flows = load_flows(config, settings())
    assert flows.flows["m"].steps[0].verb.on == {"full": "bye", "closed": "bye"}
    assert flows.hotlines["help"].max_length == 5
