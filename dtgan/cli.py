"""The one runner of every stage under ``stages/``: parse arguments, set up logging, run, report user errors.

A :class:`dtgan.errors.UserError` (a bad params value, bad data, a missing weights file, a checkpoint that does not
fit) ends the process with one line naming the key or file and what to do, and exit status 2, never a traceback.
Called from Python (``main(argv)`` in tests), the exception propagates so the caller can inspect it.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence

from dtgan.errors import UserError
from dtgan.runtime import reuse_freed_memory, setup_logging

log = logging.getLogger(__name__)

USER_ERROR_EXIT = 2


def stage_parser(description: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--params", default="params.yaml", help="params file (default: params.yaml)")
    return parser


def run_stage(body: Callable[[argparse.Namespace], None], parser: argparse.ArgumentParser,
              argv: Sequence[str] | None = None) -> int:
    """Parse ``argv`` (None: the command line), run ``body``; a user error exits 2 with a one-line message."""
    args = parser.parse_args(argv)
    setup_logging()
    if argv is None:  # a stage process of its own (tests calling main(argv) keep their process's allocator)
        reuse_freed_memory()
    try:
        body(args)
    except UserError as exc:
        if argv is not None:  # called from Python (tests): let the caller see the exception
            raise
        log.error("%s", exc)
        sys.exit(USER_ERROR_EXIT)
    return 0
