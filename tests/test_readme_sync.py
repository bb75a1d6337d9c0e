"""The README's tables are the committed reports' own (dtgan.reports.readme_sync)."""

from __future__ import annotations

from pathlib import Path

import pytest

from dtgan.errors import UserError
from dtgan.reports.readme_sync import main, read_tables, sync_text

ROOT = Path(__file__).resolve().parents[1]

README = """# Project

#### Table 1 — old

stale caption

| a |
|---|
| 1 |

#### Not a table

prose stays
"""


def test_sync_replaces_only_the_block_under_a_known_title():
    synced = sync_text(README, {"Table 1 — old": "new caption\n\n| a |\n|---|\n| 2 |", "Unquoted": "x"})
    assert "| 2 |" in synced and "| 1 |" not in synced and "stale caption" not in synced
    assert synced.endswith("#### Not a table\n\nprose stays\n")
    assert "Unquoted" not in synced and synced.startswith("# Project\n\n#### Table 1 — old\n\nnew caption")


def test_sync_is_idempotent():
    tables = {"Table 1 — old": "caption\n\n| a |"}
    once = sync_text(README, tables)
    assert sync_text(once, tables) == once


def test_table_file_without_title_line_is_rejected(tmp_path):
    (tmp_path / "t.md").write_text("no heading\n| a |\n")
    with pytest.raises(UserError, match="t.md: first line must be '### <title>'"):
        read_tables(tmp_path)


def test_check_fails_on_a_stale_readme_and_fix_mends_it(tmp_path):
    (tmp_path / "tables").mkdir()
    (tmp_path / "tables" / "t1.md").write_text("### Table 1 — old\n\nnew caption\n")
    readme = tmp_path / "README.md"
    readme.write_text(README)
    args = ["--readme", str(readme), "--tables", str(tmp_path / "tables")]
    assert main([*args, "--check"]) == 1 and readme.read_text() == README
    assert main(args) == 0 and main([*args, "--check"]) == 0


def test_committed_readme_quotes_the_committed_tables():
    tables = read_tables(ROOT / "reports" / "tables")
    readme = (ROOT / "README.md").read_text()
    assert sum(f"#### {title}\n" in readme for title in tables) >= 5  # Tables 10, 10b, 14, 15, 18 at least
    assert sync_text(readme, tables) == readme, "README tables are stale: run python -m dtgan.reports.readme_sync"
