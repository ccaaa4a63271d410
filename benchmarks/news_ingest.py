"""Indexing the news dev set: `rag index` against the plain LangChain pipeline, each in a new process, same run.

    .venv/bin/python benchmarks/news_ingest.py [--shared ../shared] [--limit N]

The 2,388 RealTime QA articles are written as text files (headline, blank line, text) with a sidecar CSV of their
dates, urls and outlets, as a user would index saved articles. Then, one after the other, each timed from process
start to exit (imports and model loading included):
  rag        `python -m rag index FOLDER --meta SIDECAR --index TMP` (cleaning, steering guard, chunking, ONNX
             embedding, FAISS + SQLite + BM25, dates and outlets);
  langchain  RecursiveCharacterTextSplitter(1000, 150) -> HuggingFaceEmbeddings(all-MiniLM-L6-v2) -> FAISS, as in
             benchmarks/ingest_vs_langchain.py (SentenceTransformer.encode, IndexFlatL2, a uuid-keyed docstore).
"""

from __future__ import annotations

import argparse
import csv
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import REPO, SHARED, table


def write_articles(shared: Path, folder: Path, limit: int | None) -> int:
    """The articles as files plus news-meta.csv; returns how many."""
    path = shared / "eval" / "realtimeqa2023" / "articles.jsonl"
    articles = [json.loads(line) for line in path.open(encoding="utf-8")][:limit]
    (folder / "articles").mkdir()
    with open(folder / "news-meta.csv", "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["source", "date", "url"])
        for a in articles:
            (folder / "articles" / f"{a['id']}.txt").write_text(f"{a['title']}\n\n{a['text']}", encoding="utf-8")
            writer.writerow([f"{a['id']}.txt", (a["publish_date"] or "").replace("/", "-"), a["url"]])
    return len(articles)


def langchain_worker(folder: Path) -> None:
    """The plain pipeline over the files (run in its own process)."""
    sys.path.insert(0, str(Path(__file__).parent))
    from ingest_vs_langchain import LangChainPipeline

    from rag.types import Document

    docs = [Document(source=p.name, original="", text=p.read_text(encoding="utf-8"), offset_map=[])
            for p in sorted((folder / "articles").glob("*.txt"))]
    pipeline = LangChainPipeline()
    chunks = sum(pipeline.ingest(docs[i:i + 100]) for i in range(0, len(docs), 100))
    print(json.dumps({"chunks": chunks}))


def timed_run(command: list[str]) -> tuple[float, str]:
    """Wall seconds of a command in a new process, and its stdout (exits on failure)."""
    started = time.perf_counter()
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"{command[:4]} failed:\n{done.stdout}\n{done.stderr}")
    return seconds, done.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=SHARED)
    parser.add_argument("--limit", type=int, help="only the first N articles")
    parser.add_argument("--langchain-worker", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.langchain_worker:
        langchain_worker(args.langchain_worker)
        return
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        count = write_articles(args.shared, folder, args.limit)
        rag_s, rag_out = timed_run([sys.executable, "-m", "rag", "index", str(folder / "articles"), "--meta",
                                    str(folder / "news-meta.csv"), "--index", str(folder / "index")])
        lc_s, lc_out = timed_run([sys.executable, __file__, "--langchain-worker", str(folder)])
    summary = [line for line in rag_out.splitlines() if line.startswith("Indexed ")]  # not a flag line after it
    print(f"{count} articles; rag: {summary[-1] if summary else rag_out.strip()[-300:]}")
    print(table(["pipeline", "seconds (new process)", "chunks", "speed-up vs langchain"],
                [["langchain", f"{lc_s:.1f}", json.loads(lc_out.strip().splitlines()[-1])["chunks"], "1.00x"],
                 ["rag index", f"{rag_s:.1f}", "", f"{lc_s / rag_s:.2f}x"]]))


if __name__ == "__main__":
    main()
