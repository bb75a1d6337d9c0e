"""Run the whole pipeline under a parameter profile in a separate git worktree; keep its reports under reports/<name>/.

The main workspace (and its committed default run) is never touched: the committed code (HEAD) is checked out into
a temporary worktree, the profile overlay (profiles/<name>.yaml, validated like every params change) is applied to its
params.yaml, `dvc repro` runs there, and its reports/ (tables, grids, plots, metrics) are copied to
reports/<name>/ with PROVENANCE.md saying which command, commit and params produced them.

    python -m dtgan.run_profile mtd        # make mtd: the Magnetic Tile Defects run of the README

A relative ``data.root`` of the overlay is resolved against this checkout, so ``../shared/datasets/mtd`` means the
shared copy beside the project, wherever the worktree is.
"""

from __future__ import annotations

import argparse
import datetime
import logging
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

from dtgan.profiles import deep_merge, validate_all
from dtgan.runtime import setup_logging, write_text

log = logging.getLogger(__name__)
ROOT = Path(__file__).resolve().parents[1]


def profile_overlay(name: str) -> dict:
    path = ROOT / "profiles" / f"{name}.yaml"
    if not path.is_file():
        msg = f"profile {name!r}: {path} not found"
        raise SystemExit(msg)
    overlay = yaml.safe_load(path.read_text()) or {}
    root = overlay.get("data", {}).get("root")
    if root and not Path(root).is_absolute():
        overlay["data"]["root"] = str((ROOT / root).resolve())
        if not Path(overlay["data"]["root"]).is_dir():
            msg = f"profile {name!r}: dataset folder {overlay['data']['root']} not found"
            raise SystemExit(msg)
    return overlay


def run(name: str, keep: bool) -> Path:
    commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                            check=True).stdout.strip()
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT, capture_output=True,
                           text=True, check=True).stdout.strip()
    if dirty:
        log.warning("the worktree runs the committed code %s; uncommitted changes are not part of this run", commit[:8])
    tree = Path(tempfile.mkdtemp(prefix=f"dtgan-{name}-"))
    subprocess.run(["git", "worktree", "add", "--detach", str(tree), commit], cwd=ROOT, check=True,
                   capture_output=True)
    try:
        params = deep_merge(yaml.safe_load((tree / "params.yaml").read_text()), profile_overlay(name))
        validate_all(params)
        (tree / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
        started = datetime.datetime.now(datetime.UTC)
        dvc = str(Path(sys.executable).parent / "dvc")
        env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
        subprocess.run([dvc, "repro"], cwd=tree, env=env, check=True)
        minutes = (datetime.datetime.now(datetime.UTC) - started).total_seconds() / 60
        return _collect(tree, name, commit, params, minutes)
    finally:
        if not keep:
            subprocess.run(["git", "worktree", "remove", "--force", str(tree)], cwd=ROOT, check=False)


def _collect(tree: Path, name: str, commit: str, params: dict, minutes: float) -> Path:
    out = ROOT / "reports" / name
    shutil.rmtree(out, ignore_errors=True)
    shutil.copytree(tree / "reports", out)
    overlay = (ROOT / "profiles" / f"{name}.yaml").read_text()
    write_text(out / "PROVENANCE.md", f"""# How reports/{name}/ was made

- command: `python -m dtgan.run_profile {name}` (`make {name}`), {minutes:.1f} minutes of `dvc repro`
- commit: `{commit}` (the code that ran, checked out in a separate git worktree)
- params: the commit's params.yaml with `profiles/{name}.yaml` applied:

```yaml
{overlay.strip()}
```

- data.root as run: `{params['data']['root']}`
- date: {datetime.date.today().isoformat()}
""")
    log.info("reports of the %s run copied to %s", name, out)
    return out


def main(argv: list[str] | None = None) -> int:
    setup_logging()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("profile", help="profiles/<profile>.yaml, e.g. mtd")
    parser.add_argument("--keep", action="store_true", help="keep the worktree (its data and models) afterwards")
    args = parser.parse_args(argv)
    run(args.profile, args.keep)
    return 0


if __name__ == "__main__":
    main()
