"""Run the real pipeline, as dvc.yaml declares it, at a tiny scale, in-process, recording what each stage touches.

The workspace is a temporary folder holding this project's ``dvc.yaml`` and a tiny ``params.yaml``; DVC itself
resolves the stages (matrices, ``${...}``), and each stage's ``cmd`` is run as ``stages.<name>.main(argv)`` with the
workspace as working directory, in dependency order. While a stage runs:

- every params field it reads is recorded (``dtgan.params.from_mapping`` returns recording copies of the section
  dataclasses; fields replaced by ``dataclasses.replace`` from a command-line option are not params reads);
- every file it opens (an audit hook: ``open`` and ``os.rename`` events) is recorded as read or written.

The tests compare these records with the stage's ``deps``, ``params`` and ``outs`` in dvc.yaml.
"""

from __future__ import annotations

import dataclasses
import importlib
import os
import shlex
import shutil
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

import dtgan.params as params_module

ROOT = Path(__file__).resolve().parents[1]
IGNORED_PREFIXES = (".dvc/", ".git/", "dvc.yaml", "dvc.lock", ".dvcignore")


@dataclass
class StageRecord:
    """What one stage did: params fields read ((dotted key, is a result key)), workspace files read and written."""

    params_read: set[tuple[str, bool]] = field(default_factory=set)
    files_read: set[str] = field(default_factory=set)
    files_written: set[str] = field(default_factory=set)


@dataclass
class Recording:
    record: StageRecord | None = None  # the stage being run (None: record nothing)
    workspace: Path | None = None
    paused: int = 0


RECORDING = Recording()


@dataclass(frozen=True)
class _Info:
    prefix: str  # "gan." for the gan section, "" for top-level keys
    present: frozenset[str]  # keys given in params.yaml (absent keys are defaults: nothing to depend on)
    overridden: frozenset[str]  # fields replaced from the command line


def _recording_getattribute(self: Any, name: str) -> Any:
    value = object.__getattribute__(self, name)
    if name.startswith("_") or RECORDING.record is None or RECORDING.paused:
        return value
    info = object.__getattribute__(self, "__dict__").get("_dtgan_info")
    fields = type(self).__dataclass_fields__
    if info is None or name not in fields or name not in info.present or name in info.overridden:
        return value
    # A nested group is not a leaf (its own fields are recorded), unless it has no fields (classifier.augmentations
    # .none): then reading the group is all there is to read.
    if not dataclasses.is_dataclass(value) or not dataclasses.fields(value):
        RECORDING.record.params_read.add((info.prefix + name, fields[name].metadata.get("result", True)))
    return value


_CLASSES: dict[type, type] = {}


def _recording_class(cls: type) -> type:
    if cls not in _CLASSES:
        _CLASSES[cls] = type(f"Recording{cls.__name__}", (cls,), {"__getattribute__": _recording_getattribute})
    return _CLASSES[cls]


def _recording_from_mapping(original: Any) -> Any:
    def from_mapping(cls: type, section: Any, name: str, prefix: str | None = None) -> Any:
        obj = original(cls, section, name, prefix)
        values = {f.name: getattr(obj, f.name) for f in dataclasses.fields(cls)}
        recorded = _recording_class(cls)(**values)
        info = _Info(f"{name}." if prefix is None else prefix, frozenset(section or {}), frozenset())
        object.__setattr__(recorded, "_dtgan_info", info)
        return recorded
    return from_mapping


def _recording_replace(original: Any) -> Any:
    def replace(obj: Any, /, **changes: Any) -> Any:
        info = getattr(obj, "__dict__", {}).get("_dtgan_info")
        RECORDING.paused += 1
        try:
            new = original(obj, **changes)
        finally:
            RECORDING.paused -= 1
        if info is not None:
            object.__setattr__(new, "_dtgan_info", dataclasses.replace(info, overridden=info.overridden | set(changes)))
        return new
    return replace


def _audit(event: str, args: tuple) -> None:
    record, workspace = RECORDING.record, RECORDING.workspace
    if record is None or workspace is None:
        return
    if event == "open":
        path, mode, flags = args
        if not isinstance(path, (str, os.PathLike)):
            return
        if isinstance(mode, str):
            writing = any(c in mode for c in "wax+")
        else:
            writing = bool(flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT))
        _note(record, workspace, path, writing)
    elif event == "os.rename":  # atomic writes: a temporary file renamed onto its final path
        _note(record, workspace, args[1], True)


def _note(record: StageRecord, workspace: Path, path: Any, writing: bool) -> None:
    absolute = os.path.abspath(os.fspath(path))
    if not writing and not os.path.isfile(absolute):
        return  # a folder (rmtree opens them), an import hook's name, or a name relative to a dir_fd: not a file read
    try:
        relative = Path(absolute).relative_to(workspace).as_posix()
    except ValueError:
        return  # outside the workspace: the code, site-packages, the torch hub cache
    if relative.startswith(IGNORED_PREFIXES) or Path(relative).name.startswith("."):
        return  # DVC's own files and the hidden temporary files of atomic writes (their rename is recorded)
    (record.files_written if writing else record.files_read).add(relative)


sys.addaudithook(_audit)


@contextmanager
def recording(record: StageRecord, workspace: Path) -> Iterator[None]:
    """Record params reads and file accesses into ``record`` while the block runs."""
    saved = (params_module.from_mapping, dataclasses.replace)
    params_module.from_mapping = _recording_from_mapping(saved[0])
    dataclasses.replace = _recording_replace(saved[1])
    RECORDING.record, RECORDING.workspace = record, workspace.resolve()
    try:
        yield
    finally:
        RECORDING.record, RECORDING.workspace = None, None
        params_module.from_mapping, dataclasses.replace = saved


@dataclass(frozen=True)
class ResolvedStage:
    """A dvc.yaml stage as DVC resolves it for the workspace's params."""

    name: str  # e.g. train_gan@e
    cmd: str
    deps: tuple[str, ...]  # data and code paths
    params: tuple[str, ...]  # dotted keys
    outs: tuple[str, ...]  # outs, metrics and plots


def resolve_stages(workspace: Path) -> list[ResolvedStage]:
    """Every stage of the workspace's dvc.yaml, in an order where each runs after the stages it depends on."""
    from dvc.repo import Repo

    repo = Repo(str(workspace))
    stages = []
    for stage in repo.index.stages:
        deps = tuple(d.def_path for d in stage.deps if type(d).__name__ != "ParamsDependency")
        params = tuple(k for d in stage.deps if type(d).__name__ == "ParamsDependency" for k in d.params)
        stages.append(ResolvedStage(stage.addressing, stage.cmd, deps, params,
                                    tuple(o.def_path for o in stage.outs)))
    repo.close()
    return _dependency_order(stages)


def _dependency_order(stages: list[ResolvedStage]) -> list[ResolvedStage]:
    def under(dep: str, outs: tuple[str, ...]) -> bool:
        """The dep is one of the outs, lies inside one, or is a folder holding one (reports/classifier)."""
        return any(dep == o or dep.startswith(o.rstrip("/") + "/") or o.startswith(dep.rstrip("/") + "/")
                   for o in outs)

    ordered: list[ResolvedStage] = []
    remaining = list(stages)
    while remaining:
        ready = [s for s in remaining
                 if not any(under(d, other.outs) for other in remaining if other is not s for d in s.deps)]
        if not ready:
            msg = f"dvc.yaml has a dependency cycle among {[s.name for s in remaining]}"
            raise RuntimeError(msg)
        ordered += ready
        remaining = [s for s in remaining if s not in ready]
    return ordered


def make_workspace(path: Path, params: dict) -> Path:
    """A folder with this project's dvc.yaml, the given params.yaml and an initialised DVC repo (no git)."""
    from dvc.repo import Repo

    path.mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "dvc.yaml", path / "dvc.yaml")
    (path / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    Repo.init(str(path), no_scm=True, force=True).close()
    return path


def run_stage_cmd(stage: ResolvedStage, workspace: Path) -> StageRecord:
    """Run one resolved stage's ``python -m stages.<name> ...`` in-process in ``workspace``, recording it."""
    argv = shlex.split(stage.cmd)
    if argv[:2] != ["python", "-m"] or not argv[2].startswith("stages."):
        msg = f"stage {stage.name}: cmd must be `python -m stages.<name> ...`, got {stage.cmd!r}"
        raise ValueError(msg)
    module = importlib.import_module(argv[2])
    record = StageRecord()
    cwd = os.getcwd()
    os.chdir(workspace)
    try:
        with recording(record, workspace):
            module.main(argv[3:])
    finally:
        os.chdir(cwd)
    return record


def run_pipeline(workspace: Path) -> dict[str, tuple[ResolvedStage, StageRecord]]:
    """Run every stage of the workspace in dependency order; stage name -> (resolved stage, what it did)."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    return {stage.name: (stage, run_stage_cmd(stage, workspace)) for stage in resolve_stages(workspace)}
