"""``python -m conformance report|diff|divergences|sweep``: thin argparse front end."""
from __future__ import annotations

import argparse
import sys


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m conformance")
    sub = parser.add_subparsers(dest="command", required=True)
    rep = sub.add_parser("report", help="merge results files into report.md/.html and badges")
    rep.add_argument("results", nargs="+", help="results JSON files (e.g. one per tox env)")
    rep.add_argument("--output", "-o", required=True, help="directory to write the report to")
    dif = sub.add_parser("diff", help="compare two results files; exit 1 on regression")
    dif.add_argument("old")
    dif.add_argument("new")
    div = sub.add_parser("divergences", help="print the known-divergence table (Markdown)")
    div.add_argument("--update", metavar="README", help="rewrite the table block in this file")
    swp = sub.add_parser("sweep", help="run the suite on several releases per backend, each in its own venv")
    from . import sweep

    sweep.add_arguments(swp)
    args = parser.parse_args(argv)

    if args.command == "sweep":
        return sweep.main(args)

    if args.command == "divergences":
        from . import registry_doc

        if args.update:
            changed = registry_doc.update(args.update)
            print(f"{args.update}: {'updated' if changed else 'already up to date'}")
        else:
            print(registry_doc.markdown(), end="")
        return 0

    from .report import ReportError, diff, load, load_many, render

    try:
        if args.command == "report":
            written = render.write_report(load_many(args.results), args.output)
            print(f"wrote {len(written)} files to {args.output}")
            return 0
        rows = diff.changes(load(args.old), load(args.new), args.old, args.new)
    except ReportError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # e.g. --output names an existing file
        print(f"error: cannot write {exc.filename or args.output}: {exc.strerror}", file=sys.stderr)
        return 2
    print(diff.table(rows))
    return 1 if any(r["regression"] for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
