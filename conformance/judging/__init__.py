"""Judging: observation -> judgement.

:mod:`.checks` compares observation fields with the document or the reference, within
:mod:`.tolerances`; :mod:`.describers` put a characterization in a few words; :mod:`.outcome`
classifies and explains the verdict on one clause x backend.
"""
