"""dvc.yaml says exactly what each stage reads and writes, or DVC's cache silently serves stale results.

Static checks (no stage runs): code deps = the stage module's import closure; package ``__init__`` files are
docstring-only (so leaving them out of deps is safe); every path on a cmd is a dep or an out.
Dynamic checks: the whole pipeline, resolved by DVC from dvc.yaml, runs at a tiny scale (tests/tiny_pipeline.py);
each stage must read exactly its listed params keys, read no file outside its deps (and every data dep it lists),
write no file outside its outs, and produce every out it declares.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
import yaml

from tests.import_closure import ROOT, code_files, expand_dep, is_docstring_only

DVC_YAML = yaml.safe_load((ROOT / "dvc.yaml").read_text())
STAGES = DVC_YAML["stages"]
CODE_PREFIXES = ("dtgan/", "stages/")


def _module_of(stage: dict) -> Path:
    argv = shlex.split(stage["cmd"])
    return ROOT / (argv[2].replace(".", "/") + ".py")


def _declared(stage: dict, key: str) -> list[str]:
    return [next(iter(e)) if isinstance(e, dict) else e for e in stage.get(key, [])]


@pytest.mark.parametrize("name", sorted(STAGES))
def test_code_deps_are_exactly_the_import_closure(name):
    stage = STAGES[name]
    closure = code_files(_module_of(stage))
    listed = set().union(*(expand_dep(d) for d in _declared(stage, "deps") if d.startswith(CODE_PREFIXES)))
    assert not closure - listed, f"{name}: dvc.yaml misses code deps {sorted(closure - listed)}"
    assert not listed - closure, f"{name}: dvc.yaml lists code the stage does not import {sorted(listed - closure)}"


def test_closure_test_fails_when_a_dep_line_is_deleted():
    """The check above is not vacuous: dropping any one code dep of train_gan leaves a file uncovered."""
    stage = STAGES["train_gan"]
    closure = code_files(_module_of(stage))
    code = [d for d in _declared(stage, "deps") if d.startswith(CODE_PREFIXES)]
    for dropped in code:
        listed = set().union(*(expand_dep(d) for d in code if d != dropped))
        assert closure - listed, f"deleting {dropped} went unnoticed"


def test_package_inits_are_docstring_only():
    """Deps leave package __init__ files out; that is safe only while they hold nothing but a docstring."""
    inits = [p for package in ("dtgan", "stages") for p in (ROOT / package).rglob("__init__.py")]
    assert inits
    assert [str(p.relative_to(ROOT)) for p in inits if not is_docstring_only(p)] == []


PATH_LIKE = re.compile(r"[/]|\.(csv|json|yaml|png|md|pt|npy)$")


@pytest.mark.parametrize("name", sorted(STAGES))
def test_every_path_on_a_cmd_is_a_dep_or_an_out(name):
    stage = STAGES[name]
    argv = shlex.split(stage["cmd"])
    paths = {v for flag, v in zip(argv, argv[1:], strict=False) if flag.startswith("--") and PATH_LIKE.search(v)}
    declared = set(_declared(stage, "deps")) | set(_declared(stage, "outs")) | set(_declared(stage, "metrics"))
    # An output folder whose files are declared one by one (reports/eval/e holds metrics.json, ...) counts too.
    folders = {str(Path(d).parent) for d in declared}
    unknown = paths - declared - folders - {"params.yaml"}
    assert not unknown, f"{name}: cmd paths not in deps/outs: {sorted(unknown)}"


# ---------------------------------------------------------------------------------------------------------------
# The pipeline at a tiny scale


def _covers(listed: str, key: str) -> bool:
    return key == listed or key.startswith(listed + ".")




@pytest.mark.slow
def test_each_stage_reads_exactly_its_listed_params(tiny_run):
    _, stages = tiny_run
    # A matrix stage lists one params set for all its cells: each listed key must be read by at least one cell (the
    # background metrics' keys, e.g., only by the methods whose images have a source).
    read_by_matrix: dict[str, set[str]] = {}
    for name, (_, record) in stages.items():
        read_by_matrix.setdefault(name.split("@")[0], set()).update(k for k, is_result in record.params_read
                                                                     if is_result)
    problems = []
    for name, (stage, record) in stages.items():
        results = {key for key, is_result in record.params_read if is_result}
        execution_only = {key for key, is_result in record.params_read if not is_result}
        missing = sorted(k for k in results if not any(_covers(p, k) for p in stage.params))
        unread = sorted(p for p in stage.params if not any(_covers(p, k) for k in read_by_matrix[name.split("@")[0]]))
        listed_non_results = sorted(p for p in stage.params if any(_covers(p, k) for k in execution_only))
        for what, keys in (("reads unlisted", missing), ("lists unread", unread),
                           ("lists execution-only", listed_non_results)):
            if keys:
                problems.append(f"{name} {what} params {keys}")
    assert not problems, "\n".join(problems)


def _under(path: str, roots: tuple[str, ...]) -> bool:
    return any(path == r or path.startswith(r.rstrip("/") + "/") for r in roots)


# The classifier cells depend on their own manifest, not on the synthetic set's folder: each synthetic row carries
# the sha256 of its PNG, checked when the image is read, so the manifest changes whenever an image does (and an image
# changed behind the manifest's back is refused, never used stale).
PINNED_BY_MANIFEST_SHA256 = ("data/synth/", "data/synth_baselines/")


@pytest.mark.slow
def test_each_stage_reads_only_its_deps_and_every_data_dep(tiny_run):
    _, stages = tiny_run
    # As with params, a matrix stage's data deps are one list: each must be read by at least one of its cells (the
    # Normal sources in data/prepared, e.g., only by the reference-guided baselines).
    read_by_matrix: dict[str, set[str]] = {}
    for name, (_, record) in stages.items():
        read_by_matrix.setdefault(name.split("@")[0], set()).update(record.files_read)
    problems = []
    for name, (stage, record) in stages.items():
        data_deps = tuple(d for d in stage.deps if not d.startswith(CODE_PREFIXES))
        pinned = PINNED_BY_MANIFEST_SHA256 if any(d.startswith("data/assembled") for d in data_deps) else ()
        allowed = (*data_deps, *stage.outs, "params.yaml", *pinned)
        undeclared = sorted(p for p in record.files_read if not _under(p, allowed))
        read_by_any_cell = read_by_matrix[name.split("@")[0]]
        unread = sorted(d for d in data_deps if not any(_under(p, (d,)) for p in read_by_any_cell))
        if undeclared:
            problems.append(f"{name} reads files outside its deps: {undeclared[:5]}")
        if unread:
            problems.append(f"{name} lists data deps it never reads: {unread}")
    assert not problems, "\n".join(problems)


@pytest.mark.slow
def test_each_stage_writes_only_its_outs_and_all_of_them(tiny_run):
    workspace, stages = tiny_run
    problems = []
    for name, (stage, record) in stages.items():
        stray = sorted(p for p in record.files_written if not _under(p, stage.outs))
        absent = sorted(o for o in stage.outs if not (workspace / o).exists())
        if stray:
            problems.append(f"{name} writes files outside its outs: {stray[:5]}")
        if absent:
            problems.append(f"{name} did not produce declared outs: {absent}")
    assert not problems, "\n".join(problems)
