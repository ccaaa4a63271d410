"""Local model speed by thread count: prompt processing and decode tokens/s, 1 thread as the baseline.

Run on an otherwise idle machine: llama.cpp threads busy-wait, so other load distorts the figures.
    python benchmarks/llm_threads.py [--threads 1 2] [--repeats 2]
"""

from __future__ import annotations

import argparse
import time

import common  # noqa: F401  (puts the repo on sys.path)

PROMPT = "Answer in three sentences: why do countries in Central Asia try to reduce their dependence on Russia?"


def measure(n_threads: int, repeats: int) -> tuple[float, float]:
    """(prompt tokens/s, decode tokens/s) for one thread count, best of `repeats`."""
    from rag.llm.local import assemble_local_model, clear_loaded_models, load_llama

    clear_loaded_models()
    llama, _ = load_llama(assemble_local_model(), n_ctx=2048, n_threads=n_threads)
    prompt_rates, decode_rates = [], []
    for _ in range(repeats):
        llama.reset()  # no prompt cache: every run processes the whole prompt
        started = time.perf_counter()
        first = None
        tokens = 0
        for _part in llama.create_completion(PROMPT * 4, max_tokens=64, temperature=0.0, stream=True):
            first = first or time.perf_counter()
            tokens += 1
        ended = time.perf_counter()
        prompt_rates.append(len(llama.tokenize((PROMPT * 4).encode())) / (first - started))
        decode_rates.append((tokens - 1) / max(ended - first, 1e-9))
    return max(prompt_rates), max(decode_rates)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    results = {n: measure(n, args.repeats) for n in args.threads}
    base_prompt, base_decode = results[args.threads[0]]
    print(f"{'threads':>7} {'prompt tok/s':>13} {'decode tok/s':>13} {'decode vs ' + str(args.threads[0]):>12}")
    for n, (prompt, decode) in results.items():
        print(f"{n:>7} {prompt:>13.1f} {decode:>13.1f} {decode / base_decode:>11.2f}x")


if __name__ == "__main__":
    main()
