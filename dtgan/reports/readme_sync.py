"""Copy the committed report tables into the README, so the README's tables are always the run's own.

    python -m dtgan.reports.readme_sync [--readme README.md] [--tables reports/tables] [--check]

Every ``reports/tables/*.md`` starts with a ``### <title>`` line (dtgan.reports.tables). The README shows the
same table under ``#### <title>``: the block from that heading to the next heading is replaced by the file's body.
A table file without such a heading in the README is left out (not every table is quoted there). ``--check``
changes nothing and exits 1 when a block differs (the test suite runs it on the committed README and reports).
Not a DVC stage: the README is written by people, not by `dvc repro`.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from dtgan.errors import UserError

HEADING = re.compile(r"^#{1,6} ")


def read_tables(tables_dir: Path) -> dict[str, str]:
    """{title: body} of every table file (body = everything after its ``### title`` line, stripped)."""
    tables = {}
    for path in sorted(tables_dir.glob("*.md")):
        first, _, body = path.read_text().partition("\n")
        if not first.startswith("### "):
            raise UserError(f"{path}: first line must be '### <title>', found {first[:60]!r}")
        tables[first[4:].strip()] = body.strip()
    return tables


def sync_text(readme: str, tables: dict[str, str]) -> str:
    """The README with the block under each ``#### <title>`` of a known table replaced by that table's body."""
    lines = readme.split("\n")
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        title = line[5:].strip() if line.startswith("#### ") else None
        out.append(line)
        i += 1
        if title not in tables:
            continue
        while i < len(lines) and not HEADING.match(lines[i]):
            i += 1
        out.extend(["", tables[title], ""])
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--readme", type=Path, default=Path("README.md"))
    parser.add_argument("--tables", type=Path, default=Path("reports/tables"))
    parser.add_argument("--check", action="store_true", help="exit 1 if the README's tables are not the reports'")
    args = parser.parse_args(argv)
    readme = args.readme.read_text()
    try:
        synced = sync_text(readme, read_tables(args.tables))
    except UserError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if synced == readme:
        return 0
    if args.check:
        print(f"{args.readme}: its tables differ from {args.tables}/*.md; run python -m dtgan.reports.readme_sync",
              file=sys.stderr)
        return 1
    args.readme.write_text(synced)
    return 0


if __name__ == "__main__":
    sys.exit(main())
