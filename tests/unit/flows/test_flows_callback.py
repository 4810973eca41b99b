"""Issue 11: the callback as a flow step (the `callback` verb, enqueue's `callback` outcome), checked at load."""

from __future__ import annotations

from pathlib import Path

import pytest
from flow_fakes import make_config, settings

from callcontrol.flows import load_flows
from callcontrol.yamlsource import ConfigError

FLOW = """entry: {inbound: m}
flows:
  m:
    - enqueue: {hotline: help, on: {timeout: overflow, callback: bye}}
    - id: overflow
      callback: {hotline: help, declined: bye}
    - id: bye
      hangup:
"""


def problems(config: Path) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_flows(config, settings())
    return [str(issue).replace(f"{config.parent}/", "") for issue in caught.value.issues]


def test_callback_steps_need_a_hotline_that_keeps_callbacks(tmp_path):
    """Without `callback:` in hotlines.yaml, the verb and the enqueue branch are refused, located, with the fix."""
    config = make_config(tmp_path, texts={"hotlines.yaml": "hotlines:\n  help: {}\n", "flows/t.yaml": FLOW})
    assert problems(config) == [
        "config/flows/t.yaml:4: flows.m[0].enqueue.on.callback: hotline 'help' offers no callback: give it "
        "callback: {offer_after: 60} in config/hotlines.yaml or remove this branch",
        "config/flows/t.yaml:6: flows.m[1].callback.hotline: hotline 'help' keeps no callbacks: give it callback: "
        "{offer_after: 60} (offer_after: 0 for this verb only) in config/hotlines.yaml",
    ]


def test_callback_as_an_overflow_target_loads_once_the_hotline_keeps_callbacks(tmp_path):
    """With `callback: {offer_after: 0}` (the verb only), the overflow step and its `declined` branch load."""
    hotlines = "hotlines:\n  help:\n    callback: {offer_after: 0, deadline: 3600}\n"
    config = make_config(tmp_path, texts={"hotlines.yaml": hotlines, "flows/t.yaml": FLOW})
    flows = load_flows(config, settings())
    step = flows.flows["m"].steps[1]
    assert step.verb.hotline == "help" and step.verb.declined == "bye"
    assert flows.hotlines["help"].callback.deadline == 3600
