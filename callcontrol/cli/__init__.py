"""Command-line commands that have a module of their own (registered by callcontrol/__main__.py)."""
