"""The clause language: what the spec files say, loaded and validated before anything runs.

First stage of the flow spec -> case -> worker -> observation -> judgement -> record -> report.
Clauses (:mod:`.spec`), their formulas (:mod:`.formula`), resource limits (:mod:`.limits`),
field paths (:mod:`.paths`), draw domains (:mod:`.drawing`) and the divergence registry
(:mod:`.registry`). Nothing here runs a framework or judges an observation.
"""
