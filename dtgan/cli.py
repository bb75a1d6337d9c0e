"""Shared command-line plumbing for the thin stage modules under ``stages/``."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence

from dtgan.data.table import DataError
from dtgan.params import ParamsError
from dtgan.runtime import setup_logging

log = logging.getLogger(__name__)


def stage_parser(description: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--params", default="params.yaml", help="params file (default: params.yaml)")
    return parser


def run_stage(body: Callable[[argparse.Namespace], None], parser: argparse.ArgumentParser,
              argv: Sequence[str] | None = None) -> int:
    """Parse ``argv``, run ``body``; user errors (bad params or data) end with a one-line message and exit 2."""
    args = parser.parse_args(argv)
    setup_logging()
    try:
        body(args)
    except (ParamsError, DataError) as exc:
        log.error("%s", exc)
        if argv is not None:  # called from Python (tests): let the caller see the exception
            raise
        sys.exit(2)
    return 0
