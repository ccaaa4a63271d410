"""Eval runs on the seed index with the hash embedder: retrieval-only scores, citation checks, report, compare."""

import json
import subprocess
import sys
from html.parser import HTMLParser

import pytest

from rag.eval.compare import compare_runs, format_comparison
from rag.eval.gold import load_gold
from rag.eval.runner import EvalOptions, judge_correct, load_run, passed, run_eval, sample
from tests.fakes import FakeChatModel
from rag.search.retriever import Retriever
from rag.types import REFUSAL, Answer, Citation

from .conftest import REPO, SEED_DEV


def _retrieval_run(settings, embedder, out, **options):
    retriever = Retriever(settings, embedder=embedder)
    opts = EvalOptions(retrieval_only=True, **options)
    return run_eval(load_gold(SEED_DEV), settings, out, retriever=retriever, options=opts)


def _scores_only(metrics):
    return {k: v for k, v in metrics.items() if k not in ("run", "latency")}


def test_retrieval_only_run_scores_match_the_marked_passages(seed_index, hash_embedder, tmp_path):
    metrics = _retrieval_run(seed_index, hash_embedder, tmp_path / "run", k=3)
    _, rows = load_run(tmp_path / "run")
    assert len(rows) == 12 and metrics["retrieval"]["n"] == 11  # the unanswerable item has no evidence
    for row in rows:
        if not row["gold"]["evidence"]:
            assert "retrieval" not in row["scores"]
            continue
        marked = [bool(p["gold_quotes"]) for p in row["retrieved"]]
        assert row["scores"]["retrieval"]["hit@3"] == float(any(marked[:3]))
        assert row["scores"]["retrieval"]["hit@10"] == float(any(marked[:10]))
        first = next((i for i, hit in enumerate(marked) if hit), None)
        assert row["scores"]["retrieval"]["mrr@10"] == (0.0 if first is None or first >= 10 else 1 / (first + 1))
    hits = [r["scores"]["retrieval"]["hit@3"] for r in rows if "retrieval" in r["scores"]]
    assert metrics["retrieval"]["hit@3"] == pytest.approx(sum(hits) / len(hits))
    assert 0 < metrics["retrieval"]["hit@10"] <= 1  # the hash embedder finds some gold quotes, not necessarily all


def test_same_input_gives_the_same_numbers(seed_index, hash_embedder, tmp_path):
    first = _retrieval_run(seed_index, hash_embedder, tmp_path / "a")
    second = _retrieval_run(seed_index, hash_embedder, tmp_path / "b")
    assert _scores_only(first) == _scores_only(second)
    rows_a, rows_b = load_run(tmp_path / "a")[1], load_run(tmp_path / "b")[1]
    assert [r["scores"] for r in rows_a] == [r["scores"] for r in rows_b]


def _citing_answer(tamper_ids):
    """An answer function that cites passage 1 with its true first words, or a tampered copy for some questions."""
    def answer_fn(question, settings, *, retriever, llm):
        passages = retriever.search(question, k=4)
        item = next(i for i in load_gold(SEED_DEV) if i.question == question)
        if not item.answerable or not passages:
            return Answer(question, REFUSAL, refused=True, passages=passages, timings={"retrieve": 0.01, "total": 0.01})
        p = passages[0]
        original = retriever.store.document_original(p.source)
        end = p.start + min(60, p.end - p.start)
        quote = original[p.start:end]
        if item.id in tamper_ids:
            quote = quote.replace(quote.split()[0], "Tampered", 1)
        citation = Citation(1, p.source, p.start, end, quote, verified=True)
        return Answer(question, f"{item.answers[0]} [1]", refused=False, citations=[citation], passages=passages,
                      timings={"retrieve": 0.01, "generate": 0.5, "total": 0.51})
    return answer_fn


def test_eval_recomputes_quote_verification_itself(seed_index, hash_embedder, tmp_path):
    retriever = Retriever(seed_index, embedder=hash_embedder)
    metrics = run_eval(load_gold(SEED_DEV), seed_index, tmp_path / "run", retriever=retriever,
                       options=EvalOptions(), answer_fn=_citing_answer({"dev-01", "dev-02"}))
    _, rows = load_run(tmp_path / "run")
    by_id = {r["id"]: r for r in rows}
    assert [c["verified_by_eval"] for c in by_id["dev-01"]["citations"]] == [False]
    assert [c["verified_by_eval"] for c in by_id["dev-03"]["citations"]] == [True]
    assert metrics["citations"]["citations"] == 11
    assert metrics["citations"]["verified_share"] == pytest.approx(9 / 11)
    assert not by_id["dev-01"]["pass"] and not by_id["dev-02"]["pass"]  # correct words but a forged quote
    assert by_id["dev-03"]["scores"]["answer"]["exact_match"] == 1.0 and by_id["dev-03"]["pass"]
    assert by_id["dev-10"]["pass"] and metrics["refusal"]["refusal_rate"] == 1.0
    assert metrics["refusal"]["false_refusal_rate"] == 0.0
    assert metrics["answer"]["exact_match"] == 1.0 and metrics["answer"]["must_pass"] == 1.0
    for row in rows:  # citation precision follows the gold marks of the cited passage
        if "precision" in row["scores"]["citations"]:
            assert row["scores"]["citations"]["precision"] == float(bool(row["passages"][0]["gold_quotes"]))
    assert metrics["latency"]["generate"]["p50"] == pytest.approx(0.5)


class _Collector(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags, self.images = [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        if tag == "img":
            self.images.append(dict(attrs)["src"])


def test_report_renders_html_with_plots(seed_index, hash_embedder, tmp_path):
    retriever = Retriever(seed_index, embedder=hash_embedder)
    run_eval(load_gold(SEED_DEV), seed_index, tmp_path / "run", retriever=retriever,
             options=EvalOptions(), answer_fn=_citing_answer({"dev-01"}))
    html = (tmp_path / "run" / "report.html").read_text(encoding="utf-8")
    parser = _Collector()
    parser.feed(html)
    parser.close()
    assert parser.tags.count("table") >= 5 and "h2" in parser.tags
    assert sorted(parser.images) == ["plots/latency.png", "plots/scores.png"]
    for src in parser.images:
        data = (tmp_path / "run" / src).read_bytes()
        assert data.startswith(b"\x89PNG") and len(data) > 1000
    markdown = (tmp_path / "run" / "report.md").read_text(encoding="utf-8")
    assert "| dev-01 |" in markdown and "FAIL" in markdown and "PASS" in markdown
    assert "### dev-01:" in markdown  # failures are explained
    dev01 = markdown.split("### dev-01:")[1].split("###")[0]
    assert "why: 1 quote(s) not found verbatim in the source" in dev01


def test_compare_shows_a_known_change(seed_index, hash_embedder, tmp_path):
    _retrieval_run(seed_index, hash_embedder, tmp_path / "a")
    _retrieval_run(seed_index, hash_embedder, tmp_path / "b")
    # make dev-04 fail retrieval in run B, as a worse retriever would
    metrics, rows = load_run(tmp_path / "b")
    row = next(r for r in rows if r["id"] == "dev-04")
    assert row["pass"]
    row["pass"] = False
    row["scores"]["retrieval"]["ndcg@10"] = 0.0
    metrics["retrieval"]["ndcg@10"] -= 0.1
    (tmp_path / "b" / "results.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    (tmp_path / "b" / "metrics.json").write_text(json.dumps(metrics), encoding="utf-8")

    comparison = compare_runs(tmp_path / "a", tmp_path / "b")
    assert [(q.id, q.verdict) for q in comparison.questions] == [("dev-04", "worse")]
    ndcg = next(c for c in comparison.metrics if c.name == "retrieval.ndcg@10")
    assert ndcg.delta == pytest.approx(-0.1) and ndcg.better is False
    text = format_comparison(comparison)
    assert "Questions worse (1):" in text and "dev-04: PASS -> FAIL" in text
    score_lines = [line for line in text.split("Questions")[0].splitlines() if line.strip().startswith(("retrieval", "pass"))]
    assert score_lines and all(line.endswith("worse") for line in score_lines)  # timings may move; scores only down

    cli = subprocess.run([sys.executable, "-m", "rag", "eval", "--compare", str(tmp_path / "a"), str(tmp_path / "b")],
                         capture_output=True, text=True, cwd=REPO, timeout=120, check=False)
    assert cli.returncode == 0 and "dev-04: PASS -> FAIL" in cli.stdout


def test_compare_of_a_folder_that_is_no_run_is_a_one_line_error(tmp_path):
    cli = subprocess.run([sys.executable, "-m", "rag", "eval", "--compare", str(tmp_path), str(tmp_path)],
                         capture_output=True, text=True, cwd=REPO, timeout=120, check=False)
    assert cli.returncode == 1 and "is not an eval run" in cli.stderr and "Traceback" not in cli.stderr


def test_eval_cli_errors_are_one_line(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": 1}\n', encoding="utf-8")
    for args in (["eval", str(bad)], ["eval"], ["eval", str(SEED_DEV), "--index", str(tmp_path / "none")]):
        cli = subprocess.run([sys.executable, "-m", "rag", *args], capture_output=True, text=True, cwd=REPO, timeout=120,
                             env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}, check=False)
        assert cli.returncode == 1, cli.stderr
        assert cli.stderr.startswith("error: ") and len(cli.stderr.strip().splitlines()) == 1, cli.stderr


def test_sample_keeps_order_and_mixes_in_unanswerable_items():
    items = load_gold(SEED_DEV)
    assert [i.id for i in sample(items, 3)] == ["dev-01", "dev-02", "dev-10"]
    assert sample(items, 50) == items


def _gold_replier():
    """A fake model that answers each seed question with its first gold answer citing passage 1, else declines."""
    gold = {i.question: i for i in load_gold(SEED_DEV)}

    def reply(messages):
        prompt = messages[-1].text
        item = next((i for q, i in gold.items() if q in prompt), None)
        return f"{item.answers[0]} [1]" if item and item.answerable else REFUSAL
    return FakeChatModel(reply)


def _judge_reply(messages):
    """A rule-based stand-in for a judge model: CORRECT when the candidate contains a reference answer."""
    prompt = messages[-1].text
    references = prompt.split("Reference answer(s): ")[1].split("\n")[0].split(" | ")
    candidate = prompt.split("Candidate answer: ")[1].split("\n")[0]
    return "CORRECT" if any(r.lower() in candidate.lower() for r in references) else "INCORRECT"


def test_end_to_end_with_the_fake_model_through_answer(seed_index, hash_embedder, tmp_path):
    retriever = Retriever(seed_index, embedder=hash_embedder)
    llm = _gold_replier()
    judge = FakeChatModel(_judge_reply)
    metrics = run_eval(load_gold(SEED_DEV), seed_index, tmp_path / "run", retriever=retriever, llm=llm,
                       options=EvalOptions(k=5, judge=judge))
    _, rows = load_run(tmp_path / "run")
    assert len(llm.calls) == 12  # every question went through answer() to the model
    assert len(judge.calls) == 11 and metrics["judge"] == {"correct": 1.0, "n": 11}
    assert metrics["refusal"]["refusal_rate"] == 1.0 and metrics["refusal"]["false_refusal_rate"] == 0.0
    assert metrics["answer"]["exact_match"] == 1.0 and metrics["answer"]["must_pass"] == 1.0
    assert metrics["answer"]["semantic_similarity"] == pytest.approx(1.0)
    assert metrics["citations"]["verified_share"] == 1.0 and metrics["citations"]["citations"] >= 11
    for row in rows:
        assert {"retrieve", "generate", "total"} <= set(row["timings"]) or row["refused"]
        if row["answerable"]:
            cited = sorted({c["n"] for c in row["citations"]})
            holds = [bool(row["passages"][n - 1]["gold_quotes"]) for n in cited]
            assert cited and row["scores"]["citations"]["precision"] == pytest.approx(sum(holds) / len(holds))
            assert row["pass"] == (row["scores"]["citations"]["verified"] == row["scores"]["citations"]["count"])
    assert {"generate", "verify"} <= set(metrics["latency"])
    # a model that always declines: refusals are counted as refusals, answer scores drop to zero
    declining = run_eval(load_gold(SEED_DEV), seed_index, tmp_path / "declining", retriever=retriever,
                         llm=FakeChatModel(lambda messages: REFUSAL),
                         options=EvalOptions(k=5))
    assert declining["refusal"]["false_refusal_rate"] == 1.0 and declining["answer"]["f1"] == 0.0
    assert declining["pass_rate"]["all"] == pytest.approx(1 / 12)


def test_pass_rules():
    hit = {"hit@10": 1.0, "hit@3": 0.0}
    assert passed({"answerable": True, "scores": {"retrieval": hit}}, 10)
    assert not passed({"answerable": True, "scores": {"retrieval": hit}}, 3)
    assert passed({"answerable": False, "scores": {"gate": {"refused": 1.0}}}, 3)
    cites = {"count": 2.0, "verified": 2.0}
    right = {"answerable": True, "refused": False, "scores": {"answer": {"f1": 0.2, "contains": 0.0, "must_pass": 1.0},
                                                              "citations": cites}}
    assert passed(right, 5)
    assert not passed({**right, "scores": {**right["scores"], "citations": {"count": 2.0, "verified": 1.0}}}, 5)
    assert not passed({**right, "refused": True}, 5)
    no_must = {"answerable": True, "refused": False, "scores": {"answer": {"f1": 0.5, "contains": 0.0}, "citations": cites}}
    assert passed(no_must, 5)
    assert not passed({**no_must, "scores": {"answer": {"f1": 0.4, "contains": 0.0}, "citations": cites}}, 5)
    assert passed({"answerable": False, "refused": True, "scores": {"answer": {}, "citations": {}}}, 5)


def test_judge_verdicts_are_read_from_the_reply():
    item = load_gold(SEED_DEV)[3]
    assert judge_correct(FakeChatModel(["Correct."]), item, "BelTA [1]") == 1.0
    assert judge_correct(FakeChatModel(["INCORRECT - it was TASS"]), item, "TASS [1]") == 0.0
    assert judge_correct(FakeChatModel([" correct"]), item, "BelTA") == 1.0


def test_interrupted_run_keeps_and_summarises_the_questions_done(seed_index, hash_embedder, tmp_path):
    citing = _citing_answer(set())
    asked = []

    def interrupting(question, settings, *, retriever, llm):
        asked.append(question)
        if len(asked) == 3:
            raise KeyboardInterrupt
        return citing(question, settings, retriever=retriever, llm=llm)

    retriever = Retriever(seed_index, embedder=hash_embedder)
    with pytest.raises(KeyboardInterrupt):
        run_eval(load_gold(SEED_DEV), seed_index, tmp_path / "run", retriever=retriever, answer_fn=interrupting)
    metrics, rows = load_run(tmp_path / "run")
    assert [r["id"] for r in rows] == ["dev-01", "dev-02"]
    assert metrics["run"]["interrupted"] is True and metrics["pass_rate"]["n"] == 2
    assert (tmp_path / "run" / "report.html").is_file()
