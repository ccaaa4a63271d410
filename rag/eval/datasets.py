"""Public evaluation sets (SciFact, CLAPNQ, the seed set) as Documents and GoldItems, plus their indexes.

Layout expected under `shared_dir` (the repo's ../shared): eval/scifact/*.csv, eval/clapnq/*.jsonl,
eval/seed_dev.jsonl, corpus/*.txt and eval/realtimeqa2023/*.jsonl (rag/eval/realtimeqa.py).
"""

from __future__ import annotations

import ast
import csv
import hashlib
import json
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import IndexNotFoundError
from ..types import Document
from .gold import Evidence, GoldItem, load_gold
from .sets import DatasetError, require_data as _require, text_document

if TYPE_CHECKING:
    from ..config import Settings
    from ..index.embed import Embedder

DATASETS = ("scifact", "clapnq", "seed", "realtimeqa")
# CLAPNQ dev splits by 1-based line number of each file. "report" is never used to train or choose anything;
# "calibration" chooses thresholds; the judge (scripts/train_judge.py) trains on "train".
CLAPNQ_SPLITS = {
    "report": frozenset(range(151, 181)),
    "calibration": frozenset(range(121, 151)) | frozenset(range(181, 211)),
}
CLAPNQ_SPLITS["train"] = frozenset(range(1, 301)) - CLAPNQ_SPLITS["report"] - CLAPNQ_SPLITS["calibration"]
SPLITS = ("all", *CLAPNQ_SPLITS, "dev")  # dev and report also split realtimeqa (January-February / March)

# One Python string literal, single- or double-quoted, with backslash escapes.
_STRING_LITERAL = re.compile(r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"", re.DOTALL)


def parse_sentence_list(value: str) -> list[str]:
    """Sentences of a SciFact abstract cell: a printed list/array of string literals, read without eval."""
    return [ast.literal_eval(literal) for literal in _STRING_LITERAL.findall(value)]


def parse_id_list(value: str) -> list[str]:
    """Ids of a printed integer array such as '[ 5152028 11705328]' or '[1, 2]'."""
    return re.findall(r"\d+", value)


def _csv_rows(path: Path) -> Iterator[dict[str, str]]:
    csv.field_size_limit(1 << 30)
    with open(_require(path), encoding="utf-8", newline="") as fh:
        yield from csv.DictReader(fh)


def scifact_documents(shared_dir: Path) -> Iterator[Document]:
    """One Document per SciFact abstract: source = doc_id, text = title, blank line, abstract sentences."""
    for row in _csv_rows(Path(shared_dir) / "eval" / "scifact" / "corpus_train.csv"):
        title = row["title"].strip()
        text = title + "\n\n" + " ".join(s.strip() for s in parse_sentence_list(row["abstract"]))
        yield text_document(row["doc_id"].strip(), text, title)


def scifact_gold(shared_dir: Path, split: str = "validation") -> list[GoldItem]:
    """SciFact claims of a split (validation, train, test), one item per claim; cited docs are the relevant sources."""
    claims: dict[str, GoldItem] = {}
    for row in _csv_rows(Path(shared_dir) / "eval" / "scifact" / f"claims_{split}.csv"):
        item = claims.setdefault(row["id"], GoldItem(id=f"scifact-{row['id']}", question=row["claim"].strip()))
        for doc_id in parse_id_list(row.get("cited_doc_ids", "")):
            if doc_id not in item.relevant_sources:
                item.relevant_sources.append(doc_id)
    for item in claims.values():
        item.kind = "multi" if len(item.relevant_sources) > 1 else "single"
    return list(claims.values())


def _clapnq_files(shared_dir: Path) -> list[Path]:
    folder = Path(shared_dir) / "eval" / "clapnq"
    return [_require(folder / f"clapnq_dev_{part}.jsonl") for part in ("answerable", "unanswerable")]


def _jsonl(path: Path) -> Iterator[dict[str, Any]]:
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                yield json.loads(line)


def clapnq_source(title: str, text: str) -> str:
    """Stable id of a CLAPNQ passage: its Wikipedia title and the first 8 hex digits of its text's sha256."""
    return f"{title.strip()} #{hashlib.sha256(text.encode('utf-8')).hexdigest()[:8]}"


def _clapnq_passage_text(passage: dict[str, Any]) -> str:
    """Indexed text of a passage: title line, blank line, passage (titles carry the topic Wikipedia omits)."""
    return f"{passage['title'].strip()}\n\n{passage['text'].strip()}"


def clapnq_documents(shared_dir: Path) -> Iterator[Document]:
    """Every gold passage of the answerable and unanswerable dev files, once each (de-duplicated by text)."""
    seen: set[str] = set()
    for path in _clapnq_files(shared_dir):
        for record in _jsonl(path):
            for passage in record["passages"]:
                text = _clapnq_passage_text(passage)
                if text not in seen:
                    seen.add(text)
                    yield text_document(clapnq_source(passage["title"], text), text, passage["title"].strip())


def _clapnq_item(record: dict[str, Any]) -> GoldItem:
    """A CLAPNQ record as a GoldItem: answers and selected sentences, or a question to decline."""
    sources = [clapnq_source(p["title"], _clapnq_passage_text(p)) for p in record["passages"]]
    answers = [o["answer"].strip() for o in record.get("output", []) if o.get("answer", "").strip()]
    item = GoldItem(id=f"clapnq-{record['id']}", question=record["input"].strip(), answers=answers)
    if not answers:
        item.answerable, item.kind = False, "unanswerable"
        return item
    item.kind = "single"
    item.relevant_sources = sources[:1]
    quotes = dict.fromkeys(s.strip() for o in record["output"] for s in o.get("selected_sentences", []) if s.strip())
    item.evidence = [Evidence(source=sources[0], quote=q) for q in quotes]
    return item


def clapnq_gold(shared_dir: Path, limit: int | None = None, split: str = "all") -> list[GoldItem]:
    """CLAPNQ dev questions of a split (CLAPNQ_SPLITS, or all); with `limit`, the first limit//2 unanswerable and
    the rest answerable."""
    lines = CLAPNQ_SPLITS.get(split)
    if split != "all" and lines is None:
        raise DatasetError(f"unknown CLAPNQ split {split!r}: choose one of {', '.join(SPLITS)}")
    answerable_file, unanswerable_file = _clapnq_files(shared_dir)
    answerable, unanswerable = ([_clapnq_item(r) for n, r in enumerate(_jsonl(f), 1) if lines is None or n in lines]
                                for f in (answerable_file, unanswerable_file))
    if limit is None:
        return answerable + unanswerable
    declined = min(limit // 2, len(unanswerable))
    return answerable[: limit - declined] + unanswerable[:declined]


def seed_documents(shared_dir: Path) -> Iterator[Document]:
    """The sample corpus files, ingested as `rag index` reads them."""
    from ..index.build import read_files

    for item in read_files([_require(Path(shared_dir) / "corpus")]):
        if isinstance(item, Document):
            yield item


def seed_gold(shared_dir: Path) -> list[GoldItem]:
    """The seed development questions over the sample corpus."""
    return load_gold(_require(Path(shared_dir) / "eval" / "seed_dev.jsonl"))


def dataset_documents(name: str, shared_dir: Path) -> Iterator[Document]:
    """Documents of a named data set."""
    from .realtimeqa import realtimeqa_documents

    loaders = {"scifact": scifact_documents, "clapnq": clapnq_documents, "seed": seed_documents,
               "realtimeqa": realtimeqa_documents}
    return loaders[_check_name(name)](shared_dir)


def dataset_gold(name: str, shared_dir: Path, split: str = "all") -> list[GoldItem]:
    """Gold questions of a named data set (SciFact: the validation claims); `split` picks CLAPNQ lines or
    RealTime QA weeks."""
    if split != "all" and name not in ("clapnq", "realtimeqa"):
        raise DatasetError(f"--split is for clapnq and realtimeqa only ({name} has one evaluation split)")
    if name == "clapnq":
        return clapnq_gold(shared_dir, split=split)
    if name == "realtimeqa":
        from .realtimeqa import realtimeqa_gold

        return realtimeqa_gold(shared_dir, split)
    loaders = {"scifact": scifact_gold, "seed": seed_gold}
    return loaders[_check_name(name)](shared_dir)


def _check_name(name: str) -> str:
    if name not in DATASETS:
        raise DatasetError(f"unknown data set {name!r}: choose one of {', '.join(DATASETS)}")
    return name


def prepare_dataset(name: str, shared_dir: Path, index_dir: Path, settings: Settings,
                    embedder: Embedder, split: str = "all") -> tuple[list[GoldItem], Path]:
    """Gold items of a data set and its index folder `index_dir/name`, built (with progress) if missing.

    An existing index is reused as it is: the content hashes make a rebuild of unchanged data a no-op,
    but reading a large set just to find that out costs time, so delete the folder to force a rebuild.
    """
    from ..index.backend import open_store
    from ..index.build import update_index

    gold = dataset_gold(name, shared_dir, split)
    folder = Path(index_dir) / name
    local = settings.model_copy(deep=True)
    local.index = folder
    try:
        with open_store(local) as store:  # the embedded index in the folder, or Milvus (settings.store)
            store.check_model(embedder.model_id)
        return gold, folder
    except IndexNotFoundError:
        pass
    print(f"Building the {name} index in {folder} (once; later runs reuse it)...", file=sys.stderr, flush=True)
    update_index(local, dataset_documents(name, shared_dir), embedder, progress=True)
    return gold, folder
