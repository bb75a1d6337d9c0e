"""Parameter profiles: the CPU default (params.yaml as committed) and the paper's full configuration.

``profiles/paper.yaml`` is an overlay: only the keys whose paper values differ from the CPU defaults. Applying it
deep-merges it into params.yaml (``make profile-paper``, i.e. ``python -m dtgan.profiles paper``); every section is
validated before anything is written. ``git checkout params.yaml`` returns to the default profile.
"""

from __future__ import annotations

import argparse
import copy
import logging
from pathlib import Path
from typing import Any

import yaml

from dtgan.errors import ParamsError
from dtgan.params import read_params
from dtgan.runtime import setup_logging, write_text

log = logging.getLogger(__name__)

PROFILE_DIR = Path(__file__).resolve().parents[1] / "profiles"


def deep_merge(base: dict, overlay: dict, path: str = "") -> dict:
    """``base`` with ``overlay`` applied; an overlay key absent from ``base`` is an error (catches stale profiles)."""
    out = copy.deepcopy(base)
    for key, value in overlay.items():
        where = f"{path}{key}"
        if key not in out:
            msg = f"profile key {where} does not exist in params.yaml"
            raise ParamsError(msg)
        if isinstance(value, dict) and isinstance(out[key], dict) and not _is_leaf_mapping(where):
            out[key] = deep_merge(out[key], value, f"{where}.")
        else:
            out[key] = copy.deepcopy(value)
    return out


def _is_leaf_mapping(where: str) -> bool:
    # Mappings that are values in their own right (replaced whole, not merged key by key).
    return where in {"data.embedded.counts", "data.domain_map"}


def profile_params(name: str, params_path: str | Path = "params.yaml") -> dict[str, Any]:
    """The params a profile gives: the committed defaults, with the profile's overlay applied."""
    base = read_params(params_path)
    if name == "default":
        return base
    overlay_path = PROFILE_DIR / f"{name}.yaml"
    if not overlay_path.is_file():
        msg = f"unknown profile {name!r}: {overlay_path} not found (profiles: default, " \
              f"{', '.join(sorted(p.stem for p in PROFILE_DIR.glob('*.yaml')))})"
        raise ParamsError(msg)
    return deep_merge(base, yaml.safe_load(overlay_path.read_text()) or {})


def validate_all(params: dict[str, Any]) -> None:
    """Load every section through its dataclass, so a bad profile fails before params.yaml is touched."""
    from dtgan.sections import load_all_sections

    load_all_sections(params)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Apply a parameter profile to params.yaml")
    parser.add_argument("profile", help="'paper' (profiles/paper.yaml) or 'default' (no change)")
    parser.add_argument("--params", default="params.yaml")
    args = parser.parse_args(argv)
    setup_logging()
    params = profile_params(args.profile, args.params)
    validate_all(params)
    header = f"# dtgan parameters, profile '{args.profile}' (written by python -m dtgan.profiles).\n"
    write_text(args.params, header + yaml.safe_dump(params, sort_keys=False, default_flow_style=None))
    log.info("params.yaml now holds the %s profile; `git checkout params.yaml` restores the default", args.profile)
    return 0


if __name__ == "__main__":
    main()
