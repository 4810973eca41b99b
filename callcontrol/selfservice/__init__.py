"""The agents' self-service from a phone: softphone feature codes (feature_codes.py) and the agents' line from a
mobile (agents_line.py), over the presence use cases (agents/presence.py). docs/agents-guide.md is the agents' page.

It talks to a call through calls.port only (never the session, the dispatcher or ARI), like routing does.
"""
