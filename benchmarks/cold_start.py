"""Cold start: `rag search` and `rag ask` in new processes, ONNX query embedder vs the sentence-transformers baseline.

Usage: python benchmarks/cold_start.py [--runs 3] [--ask]   (indexes the sample corpus into a temp folder first)
Prints the median wall time of each command per engine, the ratio, and whether torch was imported.
With --ask, `rag ask` runs once per question of tests/data/seed_dev.jsonl (never the same question twice, so
no process can reuse a whole earlier prompt), after deleting the saved prompt-prefix states (rag/llm/kvstate.py):
the first ask on a new machine saves them, every later one restores them. Prints each ask's wall time and
the stage timings rag reports (the answerability check, which reads the prompt and loads the model on
first use, first token, generation, claim check).
"""

from __future__ import annotations

import argparse
import json
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


def seed_questions() -> list[str]:
    """The seed questions, demo question first."""
    lines = (REPO / "tests" / "data" / "seed_dev.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line)["question"] for line in lines if line.strip()]


def time_asks(index: Path, runs: int) -> None:
    """`rag ask` in new processes, each on a question not asked before, after forgetting saved prompt states."""
    from rag.config import cache_dir

    for state in cache_dir("kv").glob("*.bin"):
        state.unlink()
    walls = []
    for n, question in enumerate(seed_questions()[: runs + 1]):
        started = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "rag", "ask", question, "--index", str(index), "--format", "json"],
                              capture_output=True, text=True, check=False, env={**os.environ, "RAG_EMBED__ENGINE": "auto"})
        wall = time.perf_counter() - started
        timings = json.loads(done.stdout).get("timings", {}) if done.stdout.strip().startswith("{") else {}
        label = "first ask (saves prompt states)" if n == 0 else "new process, new question"
        print(f"rag ask {wall:5.2f} s  {label:<32} judge {timings.get('judge', 0):.2f} s  "
              f"first_token {timings.get('first_token', 0):.2f} s  "
              f"generate {timings.get('generate', 0):.2f} s  verify {timings.get('verify', 0):.2f} s  ({question})")
        if n:
            walls.append(wall)
    print(f"rag ask in a new process (median of {len(walls)} new questions): {statistics.median(walls):.2f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--ask", action="store_true", help="also time `rag ask` with the local model (slow)")
    opts = parser.parse_args()
    index = Path(tempfile.mkdtemp()) / "index"
    subprocess.run([sys.executable, "-m", "rag", "index", str(REPO / "examples" / "corpus"), "--index", str(index),
                    "--json"], check=True, capture_output=True)
    search = ["search", QUESTION, "--index", str(index), "-k", "5"]
    print(f"load average at start: {os.getloadavg()[0]:.2f}")
    onnx, onnx_torch = median_of(search, "auto", opts.runs)
    base, _ = median_of(search, "torch", opts.runs)
    print(f"rag search: onnx {onnx:.2f} s (torch imported: {onnx_torch}), sentence-transformers {base:.2f} s, "
          f"ratio {base / onnx:.2f}x")
    if opts.ask:
        time_asks(index, opts.runs)
    print(f"load average at end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
