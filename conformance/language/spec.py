"""Loading and validating the declarative spec files (specs/*.yaml).

A spec file is data: it is read with YAML's safe loader (:data:`SAFE_LOADER`), checked against spec.schema.json,
then checked for what a schema cannot say (duplicate ids, formulas that are not plain
arithmetic on the clause's parameters, action arguments, describers). Any problem raises
:class:`SpecError` naming the file and the clause, before a single test runs.
"""
from __future__ import annotations

import importlib.resources
import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import jsonschema
import yaml

from conformance.language import drawing, formula, limits, paths, vocabulary
from conformance.language.cases import resolve_model, resolve_value

ROOT = Path(__file__).resolve().parent.parent.parent


def _spec_dir() -> Path:
    """The spec files: conformance/specs/ in an installed package (pyproject.toml installs the
    source tree's specs/ there, as package data), else specs/ next to the conformance package
    (a source tree, an editable install). Found from this file, never by importing a top-level
    ``specs``, which a folder of that name where the suite runs would shadow."""
    packaged = Path(str(importlib.resources.files("conformance") / "specs"))
    return packaged if packaged.is_dir() else ROOT / "specs"


SPEC_DIR = _spec_dir()
SCHEMA_PATH = Path(__file__).with_name("spec.schema.json")

# normative: the document says it (the clause quotes it); extension: beyond the text but standard
# Keras behaviour, judged like normative and scored apart; characterization: the document is silent
LEVELS = tuple(vocabulary.LEVELS)
JUDGED = ("normative", "extension")


class SpecError(ValueError):
    """A spec file or clause is malformed; the message names the file and the clause."""

    def __init__(self, path, message, clause=None):
        where = f"{_rel(path)}" + (f": clause {clause!r}" if clause else "")
        super().__init__(f"{where}: {message}")
        self.path, self.clause = path, clause


def _rel(path) -> str:
    try:
        return str(Path(path).resolve().relative_to(ROOT))
    except ValueError:
        return str(path)


INSTALLED_PREFIX = "conformance/"  # where an installed package holds specs/ (pyproject.toml)


def spec_file_name(text: str) -> str:
    """A spec file's name as the results' clause metadata say it (``file``), whether the spec
    files were read from a source tree (``specs/01-introduction.yaml``) or from an installed
    package (``conformance/specs/...``): a clause's identity does not depend on where it was
    read, so runs of both merge (conformance/report/load.py reads older files through this too)."""
    if text.startswith(INSTALLED_PREFIX + "specs/"):
        return text[len(INSTALLED_PREFIX):]
    return text


@dataclass
class Clause:
    id: str
    section: str
    level: str
    claim: str
    action: str
    path: Path
    params: dict = field(default_factory=dict)
    model: dict | None = None
    weights: object = "seeded"
    args: dict = field(default_factory=dict)
    expect: list = field(default_factory=list)
    characterize: dict | None = None
    document_code: bool = False
    quote: list = field(default_factory=list)   # verbatim sentences of the tutorial
    draw: dict | str | None = None              # domains and generators (drawing.py), or why not drawn

    @property
    def normative(self) -> bool:
        """The document says it: counted in the normative score and the document's errata."""
        return self.level == "normative"

    @property
    def judged(self) -> bool:
        """Its checks decide the run: a new divergence fails it (normative and extension)."""
        return self.level in JUDGED

    def meta(self) -> dict:
        meta = {"section": self.section, "level": self.level, "claim": self.claim,
                "document_code": self.document_code, "file": spec_file_name(_rel(self.path))}
        if self.quote:
            meta["quote"] = list(self.quote)
        return meta


# YAML's safe loader (plain data only: no tags that build objects), in PyYAML's libyaml binding when
# the wheel has it (every PyYAML wheel on PyPI does): the same data and error marks, and a tenth of
# the CPU. Every run reads the specs and the registry at its start: 0.3 s of pure-Python parsing,
# 40 s of CPU over the 140 runs of ``make test``. On bad YAML, :func:`safe_load` parses again in
# pure Python for the error: its messages name what was found (a tab, an alias), libyaml's do not.
SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def safe_load(text: str):
    """``yaml.safe_load`` of ``text``, with :data:`SAFE_LOADER`; a YAMLError is pure Python's."""
    try:
        return yaml.load(text, Loader=SAFE_LOADER)
    except yaml.YAMLError:
        if SAFE_LOADER is yaml.SafeLoader:
            raise
    return yaml.safe_load(text)  # raises the same error, worded by the pure-Python parser


@lru_cache(maxsize=1)
def _validator():
    schema = vocabulary.fill_schema(json.loads(SCHEMA_PATH.read_text()))
    return jsonschema.Draft202012Validator(schema)


def yaml_problem(exc: yaml.YAMLError) -> str:
    """A YAML error on one line, with the line and column where the parser stopped."""
    mark = getattr(exc, "problem_mark", None)
    where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
    problem = getattr(exc, "problem", None) or str(exc)
    context = getattr(exc, "context", None)
    return f"not valid YAML{where}: " + " ".join(f"{context or ''} {problem}".split())


def read_yaml(path: Path):
    """A file read with :func:`safe_load`; an unreadable file or bad YAML is a SpecError naming it."""
    try:
        data = safe_load(Path(path).read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise SpecError(path, yaml_problem(exc)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError(path, f"cannot be read: {exc.strerror if isinstance(exc, OSError) else exc}") from None
    try:
        limits.check_nodes(data)
    except limits.LimitError as exc:
        raise SpecError(path, str(exc)) from None
    return data


def load_file(path: Path) -> list[Clause]:
    path = Path(path)
    data = read_yaml(path)
    if not isinstance(data, dict):
        raise SpecError(path, "a spec file is a mapping with 'section' and 'clauses'")
    errors = sorted(_validator().iter_errors(data), key=lambda e: list(e.absolute_path))
    if errors:
        err = errors[0]
        clause = None
        loc = list(err.absolute_path)
        if len(loc) >= 2 and loc[0] == "clauses" and isinstance(loc[1], int):
            raw = data["clauses"][loc[1]]
            clause = raw.get("id", f"#{loc[1] + 1}") if isinstance(raw, dict) else f"#{loc[1] + 1}"
            loc = loc[2:]
        at = "/".join(str(p) for p in loc) or "top level"
        raise SpecError(path, f"{at}: {err.message}", clause)
    clauses = []
    for raw in data["clauses"]:
        clause = Clause(
            id=raw["id"], section=raw.get("section", data["section"]), level=raw["level"],
            claim=" ".join(raw["claim"].split()), action=raw["action"], path=path,
            params=dict(raw.get("params", {})), model=raw.get("model"),
            weights=raw.get("weights", "seeded"), args=dict(raw.get("with", {})),
            expect=list(raw.get("expect", [])), characterize=raw.get("characterize"),
            document_code=bool(raw.get("document_code", False)),
            quote=_quotes(raw.get("quote")), draw=raw.get("draw"),
        )
        try:
            check_clause(clause)
            check_limits(clause)
        except (formula.FormulaError, ValueError) as exc:
            raise SpecError(path, str(exc), clause.id) from None
        clauses.append(clause)
    return clauses


def load_all(spec_dir: Path = SPEC_DIR) -> list[Clause]:
    """Every clause of every spec file, in file order; duplicate ids are an error, and so is a
    directory without spec files."""
    seen: dict[str, Path] = {}
    clauses = []
    files = sorted(Path(spec_dir).glob("*.yaml"))
    if not files:
        raise SpecError(spec_dir, "no spec files (*.yaml) found")
    for path in files:
        for clause in load_file(path):
            if clause.id in seen:
                raise SpecError(path, f"duplicate id, first defined in {_rel(seen[clause.id])}",
                                clause.id)
            seen[clause.id] = path
            clauses.append(clause)
    return clauses


# -- semantic checks ----------------------------------------------------------------------------
@lru_cache(maxsize=1)
def _id_pattern() -> re.Pattern:
    return re.compile(_validator().schema["$defs"]["clause"]["properties"]["id"]["pattern"])


def check_clause(clause: Clause) -> None:

    # the schema's pattern is searched, and its '$' also matches before a final newline
    if not _id_pattern().fullmatch(clause.id):
        raise ValueError(f"id {clause.id!r} does not match {_id_pattern().pattern}")
    for name, value in clause.params.items():
        try:
            formula.evaluate(value, {})
        except formula.FormulaError as exc:
            raise ValueError(f"params: {name}: {exc}") from None
    params = clause.params
    action = vocabulary.ACTIONS[clause.action]
    missing = [key for key in action.required if key not in clause.args]
    unknown = set(clause.args) - set(action.keys)
    if missing:
        raise ValueError(f"action {clause.action!r} needs 'with' keys {sorted(missing)}")
    if unknown:
        raise ValueError(f"unknown 'with' keys {sorted(unknown)} for action {clause.action!r} "
                         f"(it takes {', '.join(action.keys) or 'none'})")
    if action.needs_model and not clause.model:
        raise ValueError(f"action {clause.action!r} needs a model")
    _check_arrays(clause, action)
    if clause.judged and not clause.expect:
        raise ValueError(f"a{'n' if clause.level == 'extension' else ''} {clause.level} clause needs "
                         "at least one 'expect' check")
    if clause.normative and not clause.quote:
        raise ValueError("a normative clause quotes the document: add 'quote' with the sentence it "
                         "rests on, verbatim (or make it an extension)")
    if clause.level == "characterization" and not clause.characterize:
        raise ValueError("a characterization clause needs 'characterize'")
    if clause.characterize and clause.characterize["describe"] not in vocabulary.DESCRIBERS:
        raise ValueError(f"unknown describer {clause.characterize['describe']!r} "
                         f"(known: {', '.join(sorted(vocabulary.DESCRIBERS))})")
    if clause.model:
        for dim in clause.model.get("input", []):
            _formula(dim, params)
        for layer in clause.model["layers"]:
            (_, args), = layer.items()
            for key, value in args.items():
                if key == "embeddings_regularizer":
                    _formula(value["l2"], params)
                elif key in vocabulary.NAMES:
                    continue
                elif isinstance(value, (int, float, str)) and not isinstance(value, bool):
                    _formula(value, params)
    for value in _walk(clause.args):
        _formula(value, params)
    _check_rescaled_rows(clause)
    check_checks(clause.expect, params)
    drawing.validate(clause, check_checks)


def _check_arrays(clause: Clause, action) -> None:
    """The ``with`` values that are arrays: a list of them where the action takes one per call,
    and every input generator known and given the arguments it takes."""
    for arg in action.args:
        value = clause.args.get(arg.key)
        if value is None or arg.kind not in ("array", "arrays"):
            continue
        if arg.kind == "arrays" and not isinstance(value, list):
            raise ValueError(f"with: {arg.key}: a list of arrays (one per call), not {value!r}"[:300])
        for where, item in ([(f"{arg.key}[{n}]", v) for n, v in enumerate(value)] if arg.kind == "arrays"
                            else [(arg.key, value)]):
            problem = vocabulary.input_generator_problem(item) if isinstance(item, dict) else None
            if problem:
                raise ValueError(f"with: {where}: {problem}")


def _check_rescaled_rows(clause: Clause) -> None:
    """``weights: {rescale_rows: ...}`` names rows of the model's embedding matrix, at the
    clause's parameters and, for a drawn clause, at the smallest sizes its domains allow."""
    rows = clause.weights.get("rescale_rows") if isinstance(clause.weights, dict) else None
    if not rows:
        return
    layers = [args for layer in (clause.model or {}).get("layers", []) for kind, args in layer.items()
              if kind == "embedding"]
    if not layers:
        raise ValueError("weights: rescale_rows needs a model with an embedding layer")
    domains = clause.draw.get("params", {}) if isinstance(clause.draw, dict) else {}
    smallest = {**clause.params, **{name: low for name, (low, _) in domains.items()}}
    for params in (clause.params, smallest):
        size = resolve_value(layers[0]["input_dim"], params)
        for item in rows:
            row = resolve_value(item["row"], params)
            if not (isinstance(row, int) and 0 <= row < size):
                raise ValueError(f"weights: rescale_rows: row {row!r} is not a row of the embedding "
                                 f"matrix of {size} rows (input_dim at {params})")


def check_checks(checks: list, params: dict, formulas: bool = True) -> None:
    """What the schema cannot say about a list of checks (a clause's ``expect``, a registered
    divergence's ``observed``): field paths, the keys a check needs, and (with ``formulas``)
    formulas that evaluate on ``params``."""
    formula_of = (lambda value: _formula(value, params)) if formulas else (lambda value: None)
    for check in checks:
        target_problem(check.get("to"))
        for path in (check.get("of"), (check.get("to") or {}).get("of") if isinstance(check.get("to"), dict) else None):
            if path is not None:
                paths.validate(path)
        problem = vocabulary.check_problem(check)
        if problem:
            raise ValueError(problem)
        for arg in vocabulary.CHECKS[check["check"]].args:
            value = check.get(arg.key)
            if value is None:
                continue
            if arg.kind == "formula":
                formula_of(value)
            elif arg.kind == "target" and value != "reference" and not isinstance(value, dict) \
                    and not check.get("literal"):
                for leaf in _walk(value):
                    formula_of(leaf)
            elif arg.kind == "rows" and value != "looked_up":
                for leaf in _walk(value):
                    formula_of(leaf)


def target_problem(to) -> None:
    """A check's ``to`` as a mapping is {of: FIELD} or {reference: SEMANTICS}, one of the alternative
    semantics the vocabulary declares; ValueError otherwise."""
    if not isinstance(to, dict):
        return
    if set(to) == {"of"} and isinstance(to["of"], str):
        return
    if set(to) == {"reference"}:
        if to["reference"] not in vocabulary.SEMANTICS:
            raise ValueError(f"to: {{reference: {to['reference']!r}}}: the reference computes no such semantics "
                             f"(it computes {', '.join(vocabulary.SEMANTICS)})")
        return
    raise ValueError(f"to: {to!r}: a mapping is {{of: FIELD}} or {{reference: SEMANTICS}}")


def check_errors(checks) -> str | None:
    """The first schema error of a list of checks, as one line, or None."""
    validator = jsonschema.Draft202012Validator(
        {"$defs": _validator().schema["$defs"], "type": "array", "minItems": 1,
         "items": {"$ref": "#/$defs/check"}})
    error = next(iter(sorted(validator.iter_errors(checks), key=lambda e: list(e.absolute_path))), None)
    if error is None:
        return None
    at = "/".join(str(p) for p in error.absolute_path) or "top level"
    return f"{at}: {error.message}"


def _formula(value, params):
    """Validate and evaluate: the parameters are known at load, so a formula that divides by zero
    or exceeds the limits is refused here, naming its clause, and not in the middle of a run."""
    if isinstance(value, (str, int)) and not isinstance(value, bool):
        formula.evaluate(value, params)


def check_limits(clause: Clause) -> None:
    """Refuse a clause whose arrays exceed the budget of conformance/language/limits.py."""
    model = resolve_model(clause) if clause.model else None
    args = {key: value if key in ("data", *vocabulary.NAMES) else resolve_value(value, clause.params)
            for key, value in clause.args.items()}
    limits.check(clause.action, model, args, clause.params)


def _quotes(value) -> list:
    """``quote`` as a list of whitespace-normalised strings (one string or a list in YAML)."""
    if value is None:
        return []
    return [" ".join(q.split()) for q in ([value] if isinstance(value, str) else value)]


def _walk(value):
    """Formula-bearing leaves of a ``with`` block (strings under known numeric keys)."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key in vocabulary.NAMES:
                continue
            yield from _walk(item)
    elif isinstance(value, list):
        for item in value:
            yield from _walk(item)
    elif isinstance(value, str):
        yield value
