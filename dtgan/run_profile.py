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

from dtgan.cli import run_stage
from dtgan.errors import ParamsError
from dtgan.profiles import profile_params, validate_all
from dtgan.runtime import write_text

log = logging.getLogger(__name__)
ROOT = Path(__file__).resolve().parents[1]


def profile_run_params(name: str, params_path: Path) -> dict:
    """The profile's params (dtgan.profiles, validated) with a relative dataset root resolved against this checkout,
    so that the worktree, wherever it is, reads the same data."""
    params = profile_params(name, params_path)
    for key in ("root", "mask_root"):
        value = params["data"].get(key)
        if value and not Path(value).is_absolute():
            resolved = (ROOT / value).resolve()
            if not resolved.is_dir():
                msg = f"profile {name!r}: data.{key} {value} -> {resolved} is not a folder"
                raise ParamsError(msg)
            params["data"][key] = str(resolved)
    validate_all(params)
    return params


def drop_committed_reports(tree: Path) -> None:
    """Remove the worktree's git-tracked reports/ (the default run's, and earlier profile runs' under reports/<name>/)
    before its `dvc repro`, so that reports/ afterwards holds only what this run wrote: copied whole, the committed
    files the profile's stages do not produce (e.g. the default's classifier cells at its own scales) would pass for
    this run's."""
    shutil.rmtree(tree / "reports", ignore_errors=True)


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
        params = profile_run_params(name, tree / "params.yaml")
        (tree / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
        drop_committed_reports(tree)
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
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("profile", help="profiles/<profile>.yaml, e.g. mtd")
    parser.add_argument("--keep", action="store_true", help="keep the worktree (its data and models) afterwards")
    return run_stage(lambda args: run(args.profile, args.keep), parser, argv)


if __name__ == "__main__":
    main()
