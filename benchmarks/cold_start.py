"""Cold start: `rag search` and `rag ask` in new processes, ONNX query embedder vs the sentence-transformers baseline.

Usage: python benchmarks/cold_start.py [--runs 3] [--ask]   (indexes the sample corpus into a temp folder first)
Prints the median wall time of each command per engine, the ratio, and whether torch was imported.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
QUESTION = "Why did Armenia cancel CSTO exercises?"
PROBE = "import sys, runpy; sys.argv = ['rag', *sys.argv[1:]]\ntry:\n    from rag.cli import main; main()\nexcept SystemExit: pass\n" \
        "print('TORCH' if 'torch' in sys.modules else 'NO-TORCH', file=sys.stderr)"


def run(args: list[str], engine: str) -> tuple[float, bool]:
    """Wall seconds of one `rag ARGS` in a new process, and whether it imported torch."""
    env = {**os.environ, "RAG_EMBED__ENGINE": engine}
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", PROBE, *args], env=env, capture_output=True, text=True, check=False)
    return time.perf_counter() - started, "NO-TORCH" not in done.stderr


def median_of(args: list[str], engine: str, runs: int) -> tuple[float, bool]:
    """Median wall time over `runs` (after one warm-up for the page cache) and whether torch was imported."""
    run(args, engine)
    times, torch = zip(*(run(args, engine) for _ in range(runs)))
    return statistics.median(times), any(torch)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--ask", action="store_true", help="also time `rag ask` with the local model (slow)")
    opts = parser.parse_args()
    index = Path(tempfile.mkdtemp()) / "index"
    subprocess.run([sys.executable, "-m", "rag", "index", str(REPO / "examples" / "corpus"), "--index", str(index),
                    "--json"], check=True, capture_output=True)
    commands = {"search": ["search", QUESTION, "--index", str(index), "-k", "5"]}
    if opts.ask:
        commands["ask"] = ["ask", QUESTION, "--index", str(index), "--format", "json"]
    print(f"load average at start: {os.getloadavg()[0]:.2f}")
    for name, args in commands.items():
        onnx, onnx_torch = median_of(args, "auto", opts.runs)
        base, _ = median_of(args, "torch", opts.runs)
        print(f"rag {name}: onnx {onnx:.2f} s (torch imported: {onnx_torch}), sentence-transformers {base:.2f} s, "
              f"ratio {base / onnx:.2f}x")
    print(f"load average at end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
