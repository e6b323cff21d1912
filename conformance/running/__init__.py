"""Running a clause on a backend: case -> worker -> observation.

:mod:`.actions` turns a resolved case into an observation through the adapter contract (inside
the backend's worker); :mod:`.worker` and :mod:`.channel` are the worker processes and the bytes
between them; :mod:`.session` holds a pytest session's workers, cases and reference answers;
:mod:`.properties` is the drawn-examples pipeline (batch -> replies -> judge -> shrink);
:mod:`.scheduling` places backends on xdist workers.
"""
