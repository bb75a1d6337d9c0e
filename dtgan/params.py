"""Loading ``params.yaml`` sections into frozen, validated dataclasses.

Every stage reads its own section with :func:`load_section`. A section class is a frozen dataclass whose fields
may carry validation metadata made with :func:`field_spec`; unknown keys, wrong types and out-of-range values all
raise :class:`ParamsError` with a message naming ``section.key``, the value and what is allowed.
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import yaml

from dtgan.errors import ParamsError

T = TypeVar("T")

DEFAULT_PARAMS = Path("params.yaml")


def field_spec(
    default: Any = dataclasses.MISSING,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
    choices: tuple | None = None,
    check: Callable[[Any], str | None] | None = None,
    default_factory: Any = dataclasses.MISSING,
    result: bool = True,
) -> Any:
    """A dataclass field with range / choice / custom checks used by :func:`load_section`.

    ``check`` returns an error message (what is allowed) or ``None`` when the value is fine. ``result=False`` marks
    a key that changes how a stage runs but not what it produces (device, checkpoint interval): dvc.yaml does not
    list it, resolved-config records leave it out, and a checkpoint stays valid when only it changes.
    """
    meta = {"low": low, "high": high, "low_open": low_open, "high_open": high_open, "choices": choices, "check": check,
            "result": result}
    if default_factory is not dataclasses.MISSING:
        return dataclasses.field(default_factory=default_factory, metadata=meta)
    return dataclasses.field(default=default, metadata=meta)


def read_params(path: str | Path = DEFAULT_PARAMS) -> dict:
    """The whole params file as a dict; a clear error when it is missing or not a mapping."""
    path = Path(path)
    if not path.is_file():
        msg = f"params file {path} not found (run from the project root or pass --params)"
        raise ParamsError(msg)
    with path.open() as fh:
        data = yaml.safe_load(fh)
    if not isinstance(data, dict):
        msg = f"{path} must contain a mapping of sections, got {type(data).__name__}"
        raise ParamsError(msg)
    return data


def load_section(cls: type[T], params: Mapping[str, Any] | str | Path, name: str) -> T:
    """Build ``cls`` from ``params[name]`` (a dict, or the path of a params file)."""
    if not isinstance(params, Mapping):
        params = read_params(params)
    if name not in params:
        msg = f"params.yaml has no section '{name}' (sections present: {sorted(params)})"
        raise ParamsError(msg)
    return from_mapping(cls, params[name], name)


def load_top_level(cls: type[T], params: Mapping[str, Any] | str | Path, label: str = "params") -> T:
    """Build ``cls`` from top-level keys of the params file (e.g. the ``lambda_*`` loss weights)."""
    if not isinstance(params, Mapping):
        params = read_params(params)
    names = {f.name for f in dataclasses.fields(cls)}
    return from_mapping(cls, {k: v for k, v in params.items() if k in names}, label, prefix="")


def from_mapping(cls: type[T], section: Any, name: str, prefix: str | None = None) -> T:
    """Validate ``section`` against the dataclass ``cls``; nested dataclass fields are validated recursively."""
    prefix = f"{name}." if prefix is None else prefix
    if section is None:
        section = {}
    if not isinstance(section, Mapping):
        msg = f"params section '{name}' must be a mapping, got {section!r}"
        raise ParamsError(msg)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(section) - set(fields))
    if unknown:
        msg = f"unknown key(s) {', '.join(prefix + k for k in unknown)}; allowed keys: {', '.join(sorted(fields))}"
        raise ParamsError(msg)
    hints = typing.get_type_hints(cls)
    values = {}
    for key, value in section.items():
        values[key] = _convert(prefix + key, value, hints[key], fields[key].metadata)
    missing = [k for k, f in fields.items() if k not in values and _has_no_default(f)]
    if missing:
        msg = f"missing key(s) {', '.join(prefix + k for k in missing)} in params section '{name}'"
        raise ParamsError(msg)
    return cls(**values)


def _has_no_default(f: dataclasses.Field) -> bool:
    return f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING


def _convert(key: str, value: Any, hint: Any, meta: Mapping[str, Any]) -> Any:
    value = _coerce_type(key, value, hint)
    _check_meta(key, value, meta)
    return value


def _coerce_type(key: str, value: Any, hint: Any) -> Any:
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _coerce_type(key, value, arg)
            except ParamsError as exc:
                errors.append(str(exc))
        raise ParamsError(errors[0] if errors else f"{key}: invalid value {value!r}")
    if origin is typing.Literal:
        if value not in args:
            msg = f"{key} must be one of {list(args)}, got {value!r}"
            raise ParamsError(msg)
        return value
    if origin in (tuple, list):
        if not isinstance(value, (list, tuple)):
            msg = f"{key} must be a list, got {value!r}"
            raise ParamsError(msg)
        item = args[0] if args else Any
        return tuple(_coerce_type(f"{key}[{i}]", v, item) for i, v in enumerate(value))
    if origin is dict:
        if not isinstance(value, Mapping):
            msg = f"{key} must be a mapping, got {value!r}"
            raise ParamsError(msg)
        kt, vt = args if args else (Any, Any)
        return types.MappingProxyType(
            {_coerce_type(f"{key}", k, kt): _coerce_type(f"{key}.{k}", v, vt) for k, v in value.items()}
        )
    if dataclasses.is_dataclass(hint):
        return from_mapping(hint, value, key)
    return _coerce_scalar(key, value, hint)


def _coerce_scalar(key: str, value: Any, hint: Any) -> Any:
    if hint is Any:
        return value
    if hint is bool:
        if isinstance(value, bool):
            return value
        msg = f"{key} must be true or false, got {value!r}"
        raise ParamsError(msg)
    if hint is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        msg = f"{key} must be an integer, got {value!r}"
        raise ParamsError(msg)
    if hint is float:
        # `dvc exp run -S lambda_cyc=1` writes the integer 1: accept ints for float fields.
        if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
            return float(value)
        msg = f"{key} must be a finite number, got {value!r}"
        raise ParamsError(msg)
    if hint is str:
        if isinstance(value, str):
            return value
        msg = f"{key} must be a string, got {value!r}"
        raise ParamsError(msg)
    return value


def _check_meta(key: str, value: Any, meta: Mapping[str, Any]) -> None:
    if not meta or value is None:
        return
    for item in value if isinstance(value, tuple) else (value,):
        _check_one(key, item, meta)
    if meta.get("check"):
        problem = meta["check"](value)
        if problem:
            msg = f"{key} {problem}, got {value!r}"
            raise ParamsError(msg)


def _check_one(key: str, value: Any, meta: Mapping[str, Any]) -> None:
    choices = meta.get("choices")
    if choices is not None and value not in choices:
        msg = f"{key} must be one of {list(choices)}, got {value!r}"
        raise ParamsError(msg)
    low, high = meta.get("low"), meta.get("high")
    if low is None and high is None:
        return
    too_low = low is not None and (value <= low if meta.get("low_open") else value < low)
    too_high = high is not None and (value >= high if meta.get("high_open") else value > high)
    if too_low or too_high:
        lo = "-inf" if low is None else f"{low:g}"
        hi = "inf" if high is None else f"{high:g}"
        lb = "(" if meta.get("low_open") or low is None else "["
        hb = ")" if meta.get("high_open") or high is None else "]"
        msg = f"{key} must be in {lb}{lo}, {hi}{hb}, got {value!r}"
        raise ParamsError(msg)


def is_result_field(f: dataclasses.Field) -> bool:
    """False for keys marked ``field_spec(..., result=False)`` (they do not shape any output)."""
    return f.metadata.get("result", True)


def as_dict(section: Any, exclude: tuple[str, ...] = ()) -> dict:
    """A JSON-friendly dict of a (nested) section dataclass for resolved-config records: the result keys only,
    without the top-level fields named in ``exclude``."""
    def plain(v: Any) -> Any:
        if dataclasses.is_dataclass(v):
            return {f.name: plain(getattr(v, f.name)) for f in dataclasses.fields(v) if is_result_field(f)}
        if isinstance(v, (tuple, list)):
            return [plain(x) for x in v]
        if isinstance(v, Mapping):
            return {k: plain(x) for k, x in v.items()}
        return v
    return {f.name: plain(getattr(section, f.name)) for f in dataclasses.fields(section)
            if is_result_field(f) and f.name not in exclude}
