"""`rag eval --dataset realtimeqa` on a small set written here in the same format: articles indexed with date, url
and outlet (the site, by the public suffix list), each question asked as of its date, open answers read for the
choices they name, answer recall@k, and the plain LangChain pipeline scored beside."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rag.eval.baseline import LangChainBaseline
from rag.eval.datasets import dataset_documents, dataset_gold
from rag.eval.quiz import holds, near_miss, verdict
from rag.news.outlets import outlet_from_url as site_of
from rag.eval.runner import EvalOptions, run_eval
from rag.index.build import update_index
from rag.search.retriever import Retriever
from tests.fakes import FakeChatModel

from .conftest import HashEmbedder

CHOICES = ["Pittsburgh Steelers", "Cincinnati Bengals", "Buffalo Bills", "Cleveland Browns"]
ARTICLES = [
    {"id": "a-this-week", "url": "https://edition.cnn.com/2023/01/03/sport/hamlin", "publish_date": "2023/01/03",
     "title": "Damar Hamlin in critical condition", "authors": ["A. Writer"],
     "text": "Buffalo Bills safety Damar Hamlin collapsed on the field in Cincinnati on Monday night."},
    {"id": "a-last-year", "url": "https://www.theweek.co.uk/news/old", "publish_date": "2022/02/01", "title": "Old story",
     "authors": [], "text": "The Cincinnati Bengals reached the Super Bowl after a playoff win over the Kansas City Chiefs."},
    {"id": "a-later", "url": "https://www.usatoday.com/story/later", "publish_date": "2023/01/20", "title": "Later",
     "authors": [], "text": "Damar Hamlin left hospital and went home to Buffalo, the Bills said in January."},
]
QUESTIONS = [
    {"id": "20230106_0", "question_date": "2023/01/05", "question": "NFL player Damar Hamlin collapsed this week. "
     "He plays for which team?", "choices": CHOICES, "answer": ["Buffalo Bills"], "search_results": ["a-this-week"]},
    {"id": "20230310_0", "question_date": "2023/03/09", "question": "Which bird was seen in the park?",
     "choices": ["Owl", "Eagle", "Swan", "Crow"], "answer": ["Swan"], "search_results": ["a-last-year"]},
]


def test_choices_are_read_in_the_answer_after_normalising() -> None:
    assert holds("He has played for the Buffalo Bills since 2021 [1].", "Buffalo Bills")
    assert holds("The ban lasts six months.", "6 months") and holds("Texas A&M won", "Texas A and M")
    assert not holds("The Billsmafia cheered", "Bills")
    assert verdict("Buffalo Bills [1]", False, CHOICES, "Buffalo Bills") == "right"
    assert verdict("The Bills played the Cincinnati Bengals", False, CHOICES, "Buffalo Bills") == "wrong"
    assert verdict("", True, CHOICES, "Buffalo Bills") == "declined"
    assert near_miss("A bald eagle", False, ["Bird", "Fish"]) and not near_miss("", True, ["Bird"])


def test_the_site_comes_from_the_public_suffix_list() -> None:
    assert site_of("https://edition.cnn.com/x") == "cnn.com"
    assert site_of("https://www.theweek.co.uk/news/x") == "theweek.co.uk"
    assert site_of(None) is None


@pytest.fixture
def shared(tmp_path):
    folder = tmp_path / "shared" / "eval" / "realtimeqa2023"
    folder.mkdir(parents=True)
    for name, rows in (("articles.jsonl", ARTICLES), ("questions.jsonl", QUESTIONS)):
        (folder / name).write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return tmp_path / "shared"


def test_articles_and_questions_load_with_dates_sites_and_splits(shared) -> None:
    docs = {d.source: d for d in dataset_documents("realtimeqa", shared)}
    doc = docs["a-this-week"]
    assert (doc.date, doc.outlet, doc.url) == ("2023-01-03", "cnn.com", ARTICLES[0]["url"])
    assert doc.text.startswith("Damar Hamlin in critical condition\n\n") and doc.metadata["authors"] == ["A. Writer"]
    dev, report = dataset_gold("realtimeqa", shared, "dev"), dataset_gold("realtimeqa", shared, "report")
    assert [i.id for i in dev] == ["rtqa-20230106_0"] and [i.id for i in report] == ["rtqa-20230310_0"]
    assert dev[0].as_of == "2023-01-05" and dev[0].choices == CHOICES and dev[0].answerable
    assert not report[0].answerable and report[0].kind == "not-in-articles"  # its article never names the swan


def test_eval_asks_as_of_and_scores_open_answers_with_the_baseline_beside(shared, settings, tmp_path) -> None:
    embedder = HashEmbedder()
    settings.answer.answerable_threshold = 0.0  # the hash embedder's passages: let the fake model answer
    update_index(settings, dataset_documents("realtimeqa", shared), embedder)
    llm = FakeChatModel(lambda messages: "Damar Hamlin plays for the Buffalo Bills [1].")
    baseline = LangChainBaseline.for_index(settings, embedder, llm)
    options = EvalOptions(k=5, baseline=baseline)
    items = dataset_gold("realtimeqa", shared, "dev")
    metrics = run_eval(items, settings, tmp_path / "run", retriever=Retriever(settings, embedder=embedder), llm=llm,
                       options=options)
    [row] = [json.loads(line) for line in (tmp_path / "run" / "results.jsonl").open()]
    assert all(p["source"] != "a-later" for p in row["retrieved"])  # published after the question's date
    assert row["verdict"] == "right" and row["baseline"]["verdict"] == "right"
    quiz = metrics["quiz"]
    assert quiz["answer_recall@5"] == 1.0 and quiz["baseline_answer_recall@5"] == 1.0
    assert (quiz["right"], quiz["wrong"], quiz["declined"], quiz["answer_precision"]) == (1, 0, 0, 1.0)
    assert quiz["cited_after_as_of"] == 0 and quiz["baseline"]["right"] == 1
    assert Path(f"{settings.index}.langchain-baseline.npz").is_file()  # reused by the next run


def test_report_lists_near_misses_for_a_human_read(shared, settings, tmp_path) -> None:
    embedder = HashEmbedder()
    settings.answer.answerable_threshold = 0.0
    update_index(settings, dataset_documents("realtimeqa", shared), embedder)
    llm = FakeChatModel(lambda messages: "Damar Hamlin collapsed on the field in Cincinnati on Monday night [1].")
    run_eval(dataset_gold("realtimeqa", shared, "dev"), settings, tmp_path / "run",
             retriever=Retriever(settings, embedder=embedder), llm=llm, options=EvalOptions(k=5))
    report = (tmp_path / "run" / "report.md").read_text(encoding="utf-8")
    assert "## News quiz" in report and "| answer_precision | 0.000 |" in report
    assert "rtqa-20230106_0 | Damar Hamlin collapsed on the field in Cincinnati on Monday night [1]. | Buffalo Bills" in report


def test_misses_are_sorted_by_kind() -> None:
    from rag.eval.quiz import miss_kind

    def row(verdict, answerable=True, recall=1.0, reason=None, dates=("2023-01-04",)):
        return {"verdict": verdict, "answerable": answerable, "refusal_reason": reason, "as_of": "2023-01-05",
                "scores": {"quiz": {"answer_recall@5": recall}}, "citations": [{"date": d} for d in dates]}

    assert miss_kind(row("right")) is None and miss_kind(row("declined", answerable=False)) is None
    assert miss_kind(row("wrong", answerable=False)) == "beyond ceiling"
    assert miss_kind(row("declined", recall=0.0)) == "retrieval"
    assert miss_kind(row("declined", reason="unanswerable")) == "judge"
    assert miss_kind(row("wrong", dates=("2022-03-01",))) == "date"
    assert miss_kind(row("wrong")) == miss_kind(row("declined", reason="model")) == "model"
