"""Reports over results files: ``python -m conformance report``, ``diff`` and ``same``.

* :mod:`.load`   read, validate against results.schema.json, merge losslessly
* :mod:`.matrix` compute matrix, summary, errata, coverage, characterization
* :mod:`.render` Jinja2 templates (``templates/``) to report.md / report.html
* :mod:`.badges` anybadge SVG and shields.io endpoint JSON per backend
* :mod:`.diff`   compare two runs, exit 1 on regression
* :mod:`.same`   prove two runs gave the same records (durations aside), exit 1 on any difference
* :mod:`.findings` the README's findings table, from the snapshot's results
"""
from .load import ReportError, load, load_many, merge

__all__ = ["ReportError", "load", "load_many", "merge"]
