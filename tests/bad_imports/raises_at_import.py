"""Raises RuntimeError at import, as a module whose framework is misconfigured does."""
raise RuntimeError("no GPU context in this module")
