"""Command-line topics of their own (registered from callcontrol/__main__.py)."""
