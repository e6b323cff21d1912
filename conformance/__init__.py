"""Embedding conformance: engine that turns declarative clauses x backends into test results."""

SCHEMA = "embedding-conformance/1"
