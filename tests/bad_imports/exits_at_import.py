"""Calls sys.exit at import, as a script-like module does."""
import sys

sys.exit(3)
