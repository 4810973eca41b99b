"""The verbs of a call flow, one module each: its pydantic model (the YAML options) and its `run` (what it does to
the call). registry.py lists them; the Step union (schema.py) and the loader's checks derive from that list."""
