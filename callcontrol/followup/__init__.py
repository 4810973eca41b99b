"""Follow-up of every request: the call journal's upkeep and export, voicemail tickets, service figures, the report.

Sits on the state layer only (never ARI, calls or routing): the composition root hands it each finished call's
journal line (calls/outcome.py) and the ARI recordings as a port.
"""
