"""Commands of the `callcontrol` command line, one module per topic (registered from callcontrol/__main__.py)."""
