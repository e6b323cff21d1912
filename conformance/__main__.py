"""``python -m conformance run|report|diff|same|divergences|sweep|catalogue|spec-language|adapters|selftest``:
thin argparse front end."""
from __future__ import annotations

import argparse
import sys


def run(pytest_args) -> int:
    """``python -m conformance run [pytest args]``: pytest on this package's conformance directory,
    with the plugin, from whatever folder (see conformance/run.ini). Every argument goes to pytest,
    e.g. ``--backend keras-jax --json results.json``. pytest runs in a process of its own, as from
    its command line: in this one the engine is already imported, too early for pytest's rewriting."""
    import subprocess

    from conformance import pytest_command

    return subprocess.call(pytest_command(*pytest_args))


def spec_language(args) -> int:
    """``python -m conformance spec-language [--write | --schema]``."""
    import json

    from conformance.language import spec, vocabulary
    from conformance.tools import spec_language as doc

    if args.schema:
        print(json.dumps(vocabulary.fill_schema(json.loads(spec.SCHEMA_PATH.read_text())), indent=1))
    elif args.write:
        print(f"{doc.DOC_PATH}: {'updated' if doc.write() else 'already up to date'}")
    else:
        print(doc.markdown(), end="")
    return 0


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["run"]:  # everything after `run` is pytest's, --help included
        return run(argv[1:])
    parser = argparse.ArgumentParser(prog="python -m conformance")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("run", help="run the conformance suite (pytest) from any folder; arguments go to pytest, "
                               "e.g. run --backend keras-jax --json results.json", add_help=False)
    rep = sub.add_parser("report", help="merge results files into report.md/.html and badges")
    rep.add_argument("results", nargs="+", help="results JSON files (e.g. one per tox env)")
    rep.add_argument("--output", "-o", required=True, help="directory to write the report to")
    rep.add_argument("--readme", metavar="PATH",
                     help="also rewrite the findings table of this README (its findings:start/end block) "
                          "from the results: what the snapshot in docs/latest/ does")
    dif = sub.add_parser("diff", help="compare two results files; exit 1 on regression")
    dif.add_argument("old")
    dif.add_argument("new")
    dif.add_argument("--allow-incomplete", action="store_true",
                     help="compare even if NEW does not say its run was complete")
    same = sub.add_parser(
        "same", help="prove two runs gave the same records: exit 0 if equal apart from durations, 1 if not",
        description="Compare two results files record by record (matched by clause and backend) and print "
                    "each difference as 'clause [backend] field: old -> new'; the run's own fields (backends, "
                    "Hypothesis seed, completeness, clause metadata) are compared too. Ignored: each record's "
                    "duration and the file's 'generated' time. Exit 0 when equal, 1 when not, 2 on bad input. "
                    "Use it to show that a change meant to keep results (a refactoring) kept them.")
    same.add_argument("old", help="the results file of the run before the change")
    same.add_argument("new", help="the results file of the run after it")
    div = sub.add_parser("divergences", help="print the known-divergence table (Markdown)")
    div.add_argument("--update", metavar="FILE", help="rewrite the table block in this file (docs/DIVERGENCES.md)")
    swp = sub.add_parser("sweep", help="run the suite on several releases per backend, each in its own venv")
    from conformance.tools import sweep

    sweep.add_arguments(swp)
    cat = sub.add_parser("catalogue", help="print the built-in backends as their adapters declare them; "
                                           "--write/--check the blocks generated from the declarations")
    from conformance.tools import catalogue

    catalogue.add_arguments(cat)
    st = sub.add_parser("selftest", help="run the mutants of conformance/tools/mutants.py; print the kill matrix "
                                         "and the score; exit 1 if a mutant survives or a normative clause is weak")
    st.add_argument("--jobs", "-j", type=int, default=2, help="pytest runs in parallel (default 2)")
    st.add_argument("--max-examples", type=int, default=None, metavar="N",
                    help="drawn examples per clause and mutant, in place of the ci profile's 20; --update "
                         "needs the profile's own")
    st.add_argument("--mutant", action="append", default=[], metavar="NAME",
                    help="run only this mutant (repeatable; the weak-clause check needs them all)")
    st.add_argument("--update", metavar="FILE", action="append", default=[],
                    help="rewrite the selftest block (docs/SELFTEST.md) or score line (README.md) in this file "
                         "(repeatable)")
    st.add_argument("--module", default=None,
                    help="the module of mutants to run (default conformance.tools.mutants)")
    st.add_argument("--spec-dir", default=None, help="the spec files (default specs/)")
    st.add_argument("--weak", default=None,
                    help="the list of weak clauses (default conformance/tools/weak_clauses.yaml)")
    lang = sub.add_parser("spec-language", help="print docs/SPEC-LANGUAGE.md, the catalogue of the spec "
                                                "language, generated from conformance/language/vocabulary")
    lang.add_argument("--write", action="store_true", help="rewrite docs/SPEC-LANGUAGE.md")
    lang.add_argument("--schema", action="store_true",
                      help="print spec.schema.json with its enumerations filled from the vocabulary")
    ada = sub.add_parser("adapters", help="print the generated part of docs/ADAPTERS.md (which actions and "
                                          "clauses call each adapter method); --write or --check it")
    mode = ada.add_mutually_exclusive_group()
    mode.add_argument("--write", action="store_true", help="rewrite the generated block of docs/ADAPTERS.md")
    mode.add_argument("--check", action="store_true", help="exit 1 if docs/ADAPTERS.md's block is stale")
    args = parser.parse_args(argv)

    if args.command == "spec-language":
        return spec_language(args)

    if args.command == "adapters":
        from conformance.tools import adapters_doc

        if args.write:
            print(f"{adapters_doc.DOC_PATH}: {'updated' if adapters_doc.write() else 'already up to date'}")
        elif args.check:
            if adapters_doc.stale():
                print(f"{adapters_doc.DOC_PATH} is stale: run python -m conformance adapters --write",
                      file=sys.stderr)
                return 1
            print(f"{adapters_doc.DOC_PATH}: up to date")
        else:
            print(adapters_doc.markdown_block(), end="")
        return 0

    if args.command == "sweep":
        return sweep.main(args)

    if args.command == "catalogue":
        return catalogue.main(args)

    if args.command == "selftest":
        from conformance.tools import selftest

        args.spec_dir = args.spec_dir or str(selftest.SPEC_DIR)
        args.weak = args.weak or str(selftest.WEAK_FILE)
        args.module = args.module or selftest.MODULE
        return selftest.main(args)

    if args.command == "divergences":
        from conformance.tools import registry_doc

        if args.update:
            try:
                changed = registry_doc.update(args.update)
            except OSError as exc:  # missing, a directory, unreadable
                print(f"error: cannot update {args.update}: {exc.strerror}", file=sys.stderr)
                return 2
            except ValueError as exc:  # no markers, not UTF-8, a bad registry or spec file
                print(f"error: {' '.join(str(exc).split())}", file=sys.stderr)
                return 2
            print(f"{args.update}: {'updated' if changed else 'already up to date'}")
        else:
            print(registry_doc.markdown(), end="")
        return 0

    from conformance.report import ReportError, diff, load, load_many, render, same

    if args.command == "same":
        try:
            old, new = load(args.old), load(args.new)
            found = same.differences(old, new, args.old, args.new)
        except ReportError as exc:
            print(f"error: {' '.join(str(exc).split())}", file=sys.stderr)
            return 2
        print(same.text(found, len(old["results"]), len(new["results"])))
        return 1 if found else 0

    from .report.load import describe_incomplete, incomplete

    try:
        if args.command == "report":
            if not args.output.strip():
                raise ReportError("--output: empty directory name; name the report's directory")
            doc = load_many(args.results)
            written = render.write_report(doc, args.output)
            print(f"wrote {len(written)} files to {args.output}")
            if args.readme:
                from conformance.report import findings
                from conformance.tools import blocks
                try:
                    changed = blocks.rewrite(args.readme, findings.START, findings.END, findings.table(doc))
                except ValueError as exc:
                    raise ReportError(f"--readme: {exc}") from None
                print(f"{args.readme}: {'updated' if changed else 'already up to date'}")
            return 0
        old, new = load(args.old), load(args.new)
        gaps = incomplete(new)
        if gaps and not args.allow_incomplete:
            where = "".join(f" (merged; its source {s['file']})" for s in gaps[:1] if s["file"])
            raise ReportError(f"{args.new}{where} {describe_incomplete(gaps[0])}; refusing to compare "
                              "it as a whole run. Rerun, or pass --allow-incomplete")
        rows = diff.changes(old, new, args.old, args.new)
    except ReportError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # e.g. --output names an existing file
        print(f"error: cannot write {exc.filename or args.output}: {exc.strerror}", file=sys.stderr)
        return 2
    print(diff.releases(old, new, args.old, args.new))
    print()
    print(diff.table(rows))
    return 1 if any(r["regression"] for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
