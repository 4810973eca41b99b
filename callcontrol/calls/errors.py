"""Errors a call's code may see."""


class CallEnded(Exception):
    """The caller's channel is gone (hung up or vanished); the call's work stops here."""
