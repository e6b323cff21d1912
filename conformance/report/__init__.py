"""Reports over results files: ``python -m conformance report`` and ``python -m conformance diff``.

* :mod:`.load`   read, validate against results.schema.json, merge losslessly
* :mod:`.matrix` compute matrix, summary, errata, coverage, characterization
* :mod:`.render` Jinja2 templates (``templates/``) to report.md / report.html
* :mod:`.badges` anybadge SVG and shields.io endpoint JSON per backend
* :mod:`.diff`   compare two runs, exit 1 on regression
"""
from .load import ReportError, load, load_many, merge

__all__ = ["ReportError", "load", "load_many", "merge"]
