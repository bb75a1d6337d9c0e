"""DT-GAN iteration speed of this checkout against another commit, measured side by side in one run.

Both trees run ``python -m benchmarks.bench_gan --profile default`` with the SAME params file (the other commit's
params.yaml unless --params is given) in separate processes, alternating, ``--rounds`` times each; the minimum
ms per GAN iteration of each tree is compared (minimum of N: the least disturbed run). Nothing else may run on the
machine meanwhile. The other commit is checked out with ``git worktree`` into a temporary folder.

    python -m benchmarks.bench_gan_speed --baseline d3d441f --rounds 3 --iters 10
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

from dtgan.runtime import setup_logging

log = logging.getLogger(__name__)
ROOT = Path(__file__).resolve().parents[1]


def run_bench(tree: Path, params: Path, iters: int) -> dict:
    """One bench_gan run in ``tree`` (its own code on PYTHONPATH); the JSON it logs."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    proc = subprocess.run([sys.executable, "-m", "benchmarks.bench_gan", "--profile", "default", "--params",
                           str(params), "--iters", str(iters)], cwd=tree, env=env, capture_output=True, text=True,
                          check=True)
    text = proc.stderr + proc.stdout
    match = re.search(r"INFO __main__: (\{.*\})", text, flags=re.S)
    if match is None:
        msg = f"bench_gan in {tree} printed no result:\n{text[-2000:]}"
        raise RuntimeError(msg)
    return json.loads(match.group(1))


def main(argv: list[str] | None = None) -> None:
    setup_logging()
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--baseline", required=True, help="commit to compare with (e.g. the parent commit)")
    parser.add_argument("--params", type=Path, default=None, help="default: the baseline commit's params.yaml")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--iters", type=int, default=10)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        base_tree = Path(tmp) / "baseline"
        subprocess.run(["git", "worktree", "add", "--detach", str(base_tree), args.baseline], cwd=ROOT, check=True,
                       capture_output=True)
        try:
            params = args.params or base_tree / "params.yaml"
            runs: dict[str, list[dict]] = {"baseline": [], "this": []}
            for _ in range(args.rounds):
                runs["baseline"].append(run_bench(base_tree, params, args.iters))
                runs["this"].append(run_bench(ROOT, params, args.iters))
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(base_tree)], cwd=ROOT, check=False)
    best = {k: min(r["ms_per_iteration"] for r in v) for k, v in runs.items()}
    result = {"baseline": args.baseline, "params": str(args.params or f"{args.baseline}:params.yaml"),
              "ms_per_iteration_min": best, "all_ms": {k: [round(r["ms_per_iteration"], 1) for r in v]
                                                        for k, v in runs.items()},
              "speedup": best["baseline"] / best["this"],
              "fraction_of_matmul_peak": {k: max(r["fraction_of_peak"] for r in v) for k, v in runs.items()},
              "gflop_per_iteration": {k: v[0]["gflop_per_iteration"] for k, v in runs.items()}}
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
