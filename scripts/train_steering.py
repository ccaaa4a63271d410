"""Train the steering detector shipped in rag/guard/model/ (a few minutes on 2 cores, no torch).

    .venv/bin/python scripts/train_steering.py --shared ../shared

Data (see scripts/steering_data.py): composed steering sentences in six languages as positives; real sentences as
negatives: six tenths of the RealTime QA 2023 news articles (split by id), CLAPNQ passages outside the judge's
calibration and report lines (121-210), SciFact abstracts, the sample corpus. The threshold is set on two other
tenths of the news (at most `--max-flag-rate` of them flagged); figures are reported on the last two tenths and on
held-out phrasings.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import random
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from steering_data import positives  # noqa: E402

from rag.guard.linear import BITS, PACKAGED, features  # noqa: E402
from rag.guard.steering import MIN_WORDS  # noqa: E402
from rag.modelfiles import file_sha256  # noqa: E402
from rag.text import sentence_spans  # noqa: E402

CLAPNQ_HELD = set(range(121, 211))  # calibration and report lines of the judge: never trained on


def sentences(text: str, min_words: int = 3) -> list[str]:
    """The sentences of a text with at least `min_words` words."""
    return [s for a, b in sentence_spans(text, 0, len(text)) if len((s := text[a:b]).split()) >= min_words]


def news(shared: Path) -> list[dict]:
    """RealTime QA 2023 articles with their publication month ("2023/02")."""
    path = shared / "eval" / "realtimeqa2023" / "articles.jsonl"
    return [json.loads(line) for line in path.open(encoding="utf-8")]


def part(article: dict) -> int:
    """0-9 by the article's id: 0-5 train, 6-7 calibrate the threshold, 8-9 report (never seen)."""
    return int(hashlib.sha256(article["id"].encode()).hexdigest(), 16) % 10


def clapnq_sentences(shared: Path) -> list[str]:
    """Sentences of CLAPNQ passages outside the held lines."""
    found = []
    for name in ("clapnq_dev_answerable.jsonl", "clapnq_dev_unanswerable.jsonl"):
        for number, line in enumerate((shared / "eval" / "clapnq" / name).open(encoding="utf-8"), start=1):
            if number not in CLAPNQ_HELD:
                found += [s for p in json.loads(line)["passages"] for s in sentences(p["text"])]
    return found


def scifact_sentences(shared: Path, limit: int) -> list[str]:
    """Sentences of SciFact abstracts (stored as a Python list literal of sentences)."""
    import ast

    csv.field_size_limit(10**8)
    found: list[str] = []
    with (shared / "eval" / "scifact" / "corpus_train.csv").open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            try:
                found += [s for s in ast.literal_eval(row["abstract"]) if len(s.split()) >= 3]
            except (ValueError, SyntaxError):
                continue
            if len(found) >= limit:
                break
    return found[:limit]


def foreign_word_runs(count: int, seed: int) -> list[str]:
    """Negatives in the positives' other languages: runs of each language's common words (justext's stoplists,
    shipped with trafilatura), so a French or German word alone is no sign of an order, only the order words are."""
    import justext

    rng = random.Random(seed)
    lists = {name: sorted(justext.get_stoplist(name)) for name in ("French", "Spanish", "German", "Italian", "Portuguese")}
    runs = []
    for i in range(count):
        words = lists[list(lists)[i % len(lists)]]
        runs.append(" ".join(rng.choice(words) for _ in range(rng.randint(6, 25))).capitalize() + ".")
    return runs


def matrix(texts: list[str]):
    """Sparse feature counts of `texts` (the runtime's own features, linear.py), and a last column of ones for the
    bias."""
    from scipy.sparse import csr_matrix

    rows, cols, values = [], [], []
    for i, text in enumerate(texts):
        ids = features(text)
        rows += [i] * (len(ids) + 1)
        cols += ids + [1 << BITS]
        values += [1.0] * (len(ids) + 1)
    return csr_matrix((np.array(values, dtype=np.float32), (rows, cols)), shape=(len(texts), (1 << BITS) + 1))


def scores(weights: np.ndarray, texts: list[str]) -> np.ndarray:
    """P(steering) of each text under `weights` (the bias last)."""
    logits = np.asarray(matrix(texts) @ weights).ravel()
    return 1 / (1 + np.exp(-np.clip(logits, -30, 30)))


def article_max(weights: np.ndarray, articles: list[dict]) -> tuple[np.ndarray, list[tuple[float, str]]]:
    """Each article's highest sentence score, and each article's best (score, sentence)."""
    best = []
    for article in articles:
        found = sentences(article["text"], min_words=MIN_WORDS) or [""]
        s = scores(weights, found)
        best.append((float(s.max()), found[int(s.argmax())]))
    return np.array([b[0] for b in best]), best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shared", type=Path, default=Path("../shared"))
    parser.add_argument("--out", type=Path, default=PACKAGED)
    parser.add_argument("--positives", type=int, default=16_000)
    parser.add_argument("--max-flag-rate", type=float, default=0.004, help="share of calibration articles flagged")
    parser.add_argument("--C", type=float, default=1.0, help="inverse regularisation strength")
    parser.add_argument("--seed", type=int, default=13)
    args = parser.parse_args()
    started = time.time()
    data = load_data(args)
    print(f"{len(data['positives'])} positives, {len(data['negatives'])} negatives; {len(data['calibration'])} "
          f"calibration and {len(data['report'])} report articles", flush=True)
    weights = fit(args, data)
    threshold, figures = calibrate(args, weights, data)
    save(args, weights, threshold, figures, len(data["positives"]), len(data["negatives"]), time.time() - started)


def load_data(args: argparse.Namespace) -> dict:
    """Training positives and negatives, held-out positives, and the calibration and report articles."""
    rng = random.Random(args.seed)
    articles = news(args.shared)
    train_news = [a for a in articles if part(a) < 6]
    news_sentences = [s for a in train_news for s in sentences(a["text"])]
    rng.shuffle(news_sentences)
    negatives = news_sentences[:150_000] + clapnq_sentences(args.shared)[:30_000] + scifact_sentences(args.shared, 20_000)
    negatives += [s for p in sorted((args.shared / "corpus").glob("*.txt")) for s in sentences(p.read_text())]
    negatives += foreign_word_runs(30_000, args.seed)
    claims = [s for s in news_sentences[150_000:170_000] if 5 <= len(s.split()) <= 30] or news_sentences[:2000]
    topics = [" ".join(a["title"].split()[:4]) for a in train_news]
    # Scored one sentence at a time at runtime, so trained and measured one sentence at a time.
    return {
        "positives": [s for p in positives(args.positives, False, claims, topics, args.seed) for s in sentences(p, 2)],
        "held_out": [s for p in positives(2_000, True, claims, topics, args.seed + 1) for s in sentences(p, 2)],
        "negatives": negatives,
        "calibration": [a for a in articles if part(a) in (6, 7)],
        "report": [a for a in articles if part(a) >= 8],
    }


def fit(args: argparse.Namespace, data: dict) -> np.ndarray:
    """Logistic regression weights (the bias last), classes balanced."""
    from sklearn.linear_model import LogisticRegression

    X = matrix(data["positives"] + data["negatives"])
    y = np.array([1] * len(data["positives"]) + [0] * len(data["negatives"]))
    model = LogisticRegression(C=args.C, class_weight="balanced", fit_intercept=False, solver="liblinear", max_iter=200)
    model.fit(X, y)
    return model.coef_.ravel().astype(np.float32)


def calibrate(args: argparse.Namespace, weights: np.ndarray, data: dict) -> tuple[float, dict]:
    """The lowest threshold flagging at most max-flag-rate of the calibration articles, and the figures at it."""
    cal, cal_best = article_max(weights, data["calibration"])
    for s, t in sorted(cal_best, reverse=True)[:5]:
        print(f"  calibration top {s:.3f}: {t[:160]}")
    threshold = float(max(0.5, np.quantile(cal, 1 - args.max_flag_rate) + 1e-6))
    rep, rep_best = article_max(weights, data["report"])
    figures = {
        "threshold": round(threshold, 4),
        "held_out_phrasings_recall": round(float((scores(weights, data["held_out"]) >= threshold).mean()), 4),
        "training_phrasings_recall": round(float((scores(weights, data["positives"][:2000]) >= threshold).mean()), 4),
        "calibration_articles_flagged": f"{int((cal >= threshold).sum())}/{len(cal)}",
        "report_articles_flagged": f"{int((rep >= threshold).sum())}/{len(rep)}",
    }
    print(json.dumps(figures, indent=1))
    for s, t in sorted(((s, t) for s, t in rep_best if s >= threshold), reverse=True)[:20]:
        print(f"  report flag {s:.3f}: {t[:160]}")
    return threshold, figures


def save(args, weights: np.ndarray, threshold: float, figures: dict, n_pos: int, n_neg: int, seconds: float) -> None:
    """steering.npz and manifest.json (sha256, threshold, data, figures)."""
    args.out.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(args.out / "steering.npz", weights=weights[:-1], bias=weights[-1])
    manifest = {
        "model": "logistic regression over hashed words, word pairs and 5-letter word prefixes (rag/guard/linear.py)",
        "bits": BITS, "threshold": round(threshold, 4), "seed": args.seed, "C": args.C,
        "data": {"positives": n_pos, "negatives": n_neg, "max_flag_rate": args.max_flag_rate},
        "figures": figures, "train_seconds": round(seconds, 1),
        "files": {"steering.npz": file_sha256(args.out / "steering.npz")},
    }
    (args.out / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {args.out} in {seconds:.0f} s")


if __name__ == "__main__":
    main()
