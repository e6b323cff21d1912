"""Modules that fail while being imported as ``--backend module:Class`` (tests/test_hostile_input.py).

Importing this package itself is harmless; each module below misbehaves at import in its own way.
"""
