"""Options shared by every command (set by the top-level callback)."""

debug = False
