"""User-facing errors: problems a user can fix (a params value, a data file, a missing weights file, a checkpoint).

Every stage runs through :func:`dtgan.cli.run_stage`, which prints a :class:`UserError` as one line naming the key or
file and what to do, and exits with status 2 (no traceback). Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations


class UserError(ValueError):
    """A problem in the user's inputs; the message names the key or file and what was expected."""


class ParamsError(UserError):
    """A params.yaml value that a stage cannot use; the message says which key and what is allowed."""


class DataError(UserError):
    """A dataset or pipeline-input problem; the message names the offending rows or files."""


class WeightsError(UserError):
    """A pretrained-weights file that is missing or does not fit its network; the message names file and remedy."""


class CheckpointError(UserError):
    """A model folder or checkpoint that does not fit the stage reading it (missing, other config, corrupt)."""
