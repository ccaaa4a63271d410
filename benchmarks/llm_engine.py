"""Local model engine speed: prompt and decode tokens/s and time to first token of the packaged Qwen GGUF.

Runs xllamacpp (and llama-cpp-python as the baseline when it is importable) with 1 and 2 threads, with
OMP_WAIT_POLICY unset and PASSIVE, on an idle machine and beside a busy-loop process that takes one core.
Each variant runs in a fresh subprocess: OpenMP reads OMP_WAIT_POLICY once, when it is loaded.
Takes 3-4 minutes on 2 cores; run it on an otherwise idle machine.
    python benchmarks/llm_engine.py [--threads 1 2] [--omp unset PASSIVE spin:10000] [--load idle busy] [--repeats 2]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from typing import Any

import common  # noqa: F401  (puts the repo on sys.path)

N_CTX = 2048
DECODE_TOKENS = 32
CHILD_TIMEOUT = 180  # seconds; a variant that takes longer is reported as failed
BUSY_SECONDS = 240  # upper bound on the busy loop's life if this script dies without stopping it
SYSTEM = "You answer questions about the passage the user gives, citing it closely."
PASSAGE = (
    "The Golden Gate Bridge is a suspension bridge spanning the Golden Gate, the one-mile-wide strait "
    "connecting San Francisco Bay and the Pacific Ocean. The structure links San Francisco to Marin County. "
    "It opened in 1937 and was, at the time, the longest and tallest suspension bridge in the world, with a "
    "main span of 4,200 feet and a total height of 746 feet. Its color, International Orange, was chosen to "
    "complement the natural surroundings while keeping the bridge visible in fog. Engineer Joseph Strauss led "
    "the project, with Leon Moisseiff and Charles Ellis doing much of the structural design. "
)
QUESTION = "Write a detailed essay about everything the passage says about the bridge's design and history."
MESSAGES = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": PASSAGE + QUESTION}]
BUSY_LOOP = "import sys, time\nend = time.monotonic() + float(sys.argv[1])\nwhile time.monotonic() < end:\n    pass\n"


# ---------------------------------------------------------------- child: one engine, one setting


def model_path() -> str:
    """Path of the assembled packaged model (assembling it on first use)."""
    try:
        from rag.llm.local import assemble_local_model
    except ImportError:  # layout before the package restructuring
        from rag.llm_local import assemble_local_model
    return str(assemble_local_model())


def run_xllamacpp(path: str, n_threads: int, repeats: int) -> dict[str, Any]:
    """Load the model on xllamacpp and time `repeats` generations; prompt/decode rates from the server's timings."""
    from rag.llm.xllama import start_server, stream_chat

    started = time.perf_counter()
    server = start_server(path, N_CTX, n_threads)  # not load_server: it would set OMP_WAIT_POLICY
    load_s = time.perf_counter() - started
    server.handle_chat_completions({"messages": [{"role": "user", "content": "Hi"}], "max_tokens": 2})  # warm-up
    runs = []
    for _ in range(repeats):
        # No prompt cache (every run processes the whole prompt); ignore_eos makes every run decode the same count.
        request = {
            "messages": MESSAGES,
            "max_tokens": DECODE_TOKENS,
            "temperature": 0.0,
            "stream": True,
            "cache_prompt": False,
            "ignore_eos": True,
        }
        started = time.perf_counter()
        first, timings = None, {}
        for chunk in stream_chat(server, request):
            if first is None and any((c.get("delta") or {}).get("content") for c in chunk.get("choices") or []):
                first = time.perf_counter() - started
            timings = chunk.get("timings") or timings
        runs.append((timings["prompt_per_second"], timings["predicted_per_second"], first))
    return {**_summary(runs, load_s), "prompt_tokens": timings["prompt_n"]}


def run_llama_cpp(path: str, n_threads: int, repeats: int) -> dict[str, Any]:
    """The same measurement on llama-cpp-python; prompt rate is prompt tokens / time to first token."""
    import llama_cpp

    started = time.perf_counter()
    llama = llama_cpp.Llama(model_path=path, n_ctx=N_CTX, n_threads=n_threads, verbose=False)
    load_s = time.perf_counter() - started
    # Approximate prompt length: message texts plus the chat template's few tokens per message.
    n_prompt = sum(len(llama.tokenize(m["content"].encode(), add_bos=False)) + 5 for m in MESSAGES)
    runs = []
    for _ in range(repeats):
        llama.reset()  # no prompt cache
        started = time.perf_counter()
        first, tokens = None, 0
        stream = llama.create_chat_completion(messages=MESSAGES, max_tokens=DECODE_TOKENS, temperature=0.0, stream=True)
        for part in stream:
            if part["choices"][0]["delta"].get("content"):
                first = first or time.perf_counter() - started
                tokens += 1
        ended = time.perf_counter() - started
        runs.append((n_prompt / first, (tokens - 1) / max(ended - first, 1e-9), first))
    return _summary(runs, load_s)


def _summary(runs: list[tuple[float, float, float]], load_s: float) -> dict[str, Any]:
    """Median prompt tok/s, decode tok/s and time to first token over the runs."""
    prompt, decode, ttft = zip(*runs)
    return {
        "prompt_tps": statistics.median(prompt),
        "decode_tps": statistics.median(decode),
        "ttft_s": statistics.median(ttft),
        "load_s": load_s,
    }


def child(engine: str, n_threads: int, repeats: int) -> None:
    """Measure one variant and print it as one JSON line."""
    runner = run_xllamacpp if engine == "xllamacpp" else run_llama_cpp
    print(json.dumps(runner(model_path(), n_threads, repeats)), flush=True)


# ---------------------------------------------------------------- parent: every variant in a fresh process


def omp_env(omp: str) -> dict[str, str]:
    """This environment with OpenMP's wait settings replaced: "unset", a policy (PASSIVE, ACTIVE) or "spin:N"."""
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")}
    if omp.startswith("spin:"):
        env["GOMP_SPINCOUNT"] = omp.removeprefix("spin:")  # libgomp: spin this many iterations, then sleep
    elif omp != "unset":
        env["OMP_WAIT_POLICY"] = omp
    return env


def machine_busy_seconds() -> float:
    """CPU seconds all processes on the machine have used so far (Linux /proc/stat), 0.0 elsewhere."""
    try:
        with open("/proc/stat") as f:
            ticks = [int(v) for v in f.readline().split()[1:9]]
    except OSError:
        return 0.0
    return (sum(ticks) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK")  # minus idle and iowait


def own_cpu_seconds() -> float:
    """CPU seconds used by this script and its finished subprocesses."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def run_variant(engine: str, n_threads: int, omp: str, busy: bool, repeats: int) -> dict[str, Any] | None:
    """Run one variant in a subprocess (with a busy loop beside it if `busy`); None if it failed.

    Also reports how many cores other processes used meanwhile ("other"): figures are only comparable
    when it stays near 0.
    """
    started, machine, own = time.monotonic(), machine_busy_seconds(), own_cpu_seconds()
    result = _run_child(engine, n_threads, omp, busy, repeats)
    elapsed = time.monotonic() - started
    other = (machine_busy_seconds() - machine) - (own_cpu_seconds() - own)
    return result and {**result, "other_cores": max(other, 0.0) / elapsed}


def _run_child(engine: str, n_threads: int, omp: str, busy: bool, repeats: int) -> dict[str, Any] | None:
    """The child's JSON result, its busy loop started before and stopped after it."""
    env = omp_env(omp)
    loader = subprocess.Popen([sys.executable, "-c", BUSY_LOOP, str(BUSY_SECONDS)]) if busy else None
    try:
        done = subprocess.run(
            [sys.executable, __file__, "--child", engine, str(n_threads), "--repeats", str(repeats)],
            check=False,
            env=env,
            capture_output=True,
            text=True,
            timeout=CHILD_TIMEOUT,
        )
    except subprocess.TimeoutExpired:
        print(f"  {engine} {n_threads} threads {omp} {'busy' if busy else 'idle'}: timed out", file=sys.stderr)
        return None
    finally:
        if loader is not None:
            loader.terminate()
            loader.wait()
    if done.returncode != 0:
        print(f"  {engine} failed: {done.stderr.strip().splitlines()[-1:]}", file=sys.stderr)
        return None
    return json.loads(done.stdout.strip().splitlines()[-1])


def variants(threads: list[int], omps: list[str], loads: list[str], baseline: bool) -> list[tuple[str, int, str, bool]]:
    """(engine, threads, OpenMP setting, busy) for every measurement, idle ones first."""
    out = []
    for busy in [load == "busy" for load in loads]:
        for n in threads:
            out += [("xllamacpp", n, omp, busy) for omp in omps]
            if baseline:
                out.append(("llama_cpp", n, "unset", busy))
    return out


def print_row(engine: str, n: int, omp: str, busy: bool, result: dict[str, Any] | None) -> None:
    """One table row."""
    head = f"{engine:<10} {n:>7} {omp:>10} {'busy' if busy else 'idle':>5}"
    if result is None:
        print(f"{head} {'failed':>13}")
        return
    print(
        f"{head} {result['prompt_tps']:>13.1f} {result['decode_tps']:>13.1f}"
        f" {result['ttft_s']:>7.2f} {result['load_s']:>7.1f} {result['other_cores']:>6.2f}",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--omp", nargs="+", default=["unset", "PASSIVE"], help="unset, PASSIVE, ACTIVE or spin:N")
    parser.add_argument("--load", nargs="+", default=["idle", "busy"], choices=["idle", "busy"])
    parser.add_argument("--child", nargs=2, metavar=("ENGINE", "THREADS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], int(args.child[1]), args.repeats)
        return
    model_path()  # assemble once, outside the timed subprocesses
    import xllamacpp

    baseline = importlib.util.find_spec("llama_cpp") is not None
    print(f"xllamacpp {xllamacpp.__version__}; {os.cpu_count()} CPUs; load average {os.getloadavg()[0]:.2f}")
    print("llama-cpp-python: " + ("included as the baseline" if baseline else "absent (not importable), no baseline"))
    print(f"{DECODE_TOKENS} tokens decoded per run, median of {args.repeats} runs; busy = one busy-loop process")
    print(
        f"{'engine':<10} {'threads':>7} {'OMP':>10} {'load':>5} {'prompt tok/s':>13} {'decode tok/s':>13}"
        f" {'TTFT s':>7} {'load s':>7} {'other':>6}"
    )
    prompt_tokens = None
    for engine, n, omp, busy in variants(args.threads, args.omp, args.load, baseline):
        result = run_variant(engine, n, omp, busy, args.repeats)
        prompt_tokens = prompt_tokens or (result or {}).get("prompt_tokens")
        print_row(engine, n, omp, busy, result)
    print(f"prompt: {prompt_tokens} tokens (chat template included), no prompt cache; other: cores used by other")
    print("processes during the variant (figures are only comparable when it stays near 0)")


if __name__ == "__main__":
    main()
