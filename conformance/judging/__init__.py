"""Judging: observation -> judgement.

:mod:`.replies` are what a backend or the reference answered for a case (typed records, and their
plain form on the wire); :mod:`.checks` compare observation fields with the document or the
reference, within :mod:`.tolerances`; :mod:`.describers` put a characterization in a few words;
:mod:`.outcome` is the pure judge of one clause x backend and explains its verdict;
:mod:`.status` holds the statuses and the one classification of a record for people.
"""
