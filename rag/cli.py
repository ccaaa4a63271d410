"""Command line: `rag index`, `rag search`, `rag ask`, `rag docs` (heavy libraries load only inside commands)."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from . import __version__, cli_servers
from .cli_options import (AsOfOpt, ExcludeFlaggedOpt, IndexOpt, JsonOpt, SinceOpt, SourceOpt, UntilOpt,
                          settings as _settings)
from .errors import RagError

app = typer.Typer(
    help="Answer questions from your documents, with verified quotes.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    rich_markup_mode=None,  # help texts use [brackets] literally (env var names, defaults)
)

def _version(value: bool) -> None:
    if value:
        typer.echo(f"rag {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")] = False,
) -> None:
    """Answer questions from your documents, with verified quotes."""


@app.command()
def index(
    paths: Annotated[Optional[list[str]], typer.Argument(help="Files, folders (txt, md, html, pdf, docx) or web pages "
                                                         "(https://...) to index.")] = None,
    index_dir: IndexOpt = None,
    feed: Annotated[Optional[list[str]], typer.Option("--feed", help="Also index the articles of this RSS or Atom feed "
                                                      "(repeatable); re-runs fetch only what changed.")] = None,
    allow_private: Annotated[bool, typer.Option("--allow-private", help="Fetch pages from private, loopback and "
                                                "link-local addresses too (intranets) [env: RAG_WEB__ALLOW_PRIVATE].")] = False,
    watch: Annotated[bool, typer.Option("--watch", help="Keep running: re-index files as they are added, changed "
                                        "or removed (Ctrl-C stops).")] = False,
    rebuild: Annotated[bool, typer.Option("--rebuild", help="Re-embed everything (needed after changing the embedding model).")] = False,
    prune: Annotated[bool, typer.Option("--prune", help="Also remove indexed documents not among PATHS.")] = False,
    embed_model: Annotated[Optional[str], typer.Option("--embed-model", help="sentence-transformers model name or path.")] = None,
    meta: Annotated[Optional[Path], typer.Option("--meta", help="CSV (header row) or JSONL mapping source or path to "
                                                 "date, outlet, url, title; kept for later runs.")] = None,
    workers: Annotated[Optional[int], typer.Option("--workers", min=1, help="Read and embed on a local Dask cluster of N processes (127.0.0.1).")] = None,
    cluster: Annotated[Optional[str], typer.Option("--cluster", help="Read and embed on the Dask cluster at tcp://SCHEDULER:8786.")] = None,
    json_out: JsonOpt = False,
) -> None:
    """Index documents and web pages; re-running only re-embeds new or changed files and re-fetches changed pages."""
    from .index.embed import embedder_for
    from .index.build import index_paths
    from . import terminal

    settings = _settings(index=index_dir, **{"embed.model": embed_model, "web.allow_private": allow_private or None})
    files, web = _web_sources(paths or [], feed or [], settings)
    embedder = embedder_for(settings.embed, indexing=True)
    report = index_paths(files, settings, embedder, prune=prune, rebuild=rebuild, progress=not json_out,
                         meta_file=_meta_file(web, meta), workers=workers, cluster=cluster)
    if json_out:
        typer.echo(json.dumps({**terminal.index_report_dict(report, settings.index),
                               **({"web": web.to_dict()} if web is not None else {})}, indent=2))
    else:
        terminal.print_web_report(web)
        terminal.print_index_report(report, settings.index)
    if watch:
        from .index.watch import watch_paths

        watch_paths([Path(p) for p in paths or [] if not _is_url(p)], settings, embedder)


def _meta_file(web, meta: Path | None) -> Path | None:
    """The sidecar to read: the pages' URLs when pages were fetched, else --meta (not both in one run)."""
    if web is None or web.sidecar is None:
        return meta
    if meta is not None:
        raise RagError("--meta cannot be combined with web pages in one run: index the pages, then the files")
    return web.sidecar


def _is_url(text: str) -> bool:
    """Whether a PATHS argument is a web address rather than a file."""
    return text.lower().startswith(("http://", "https://"))


def _web_sources(paths: list[str], feeds: list[str], settings):
    """(files to index, the web report or None): pages and feeds fetched into <index>/web first."""
    urls = [p for p in paths if _is_url(p)]
    files: list[Path | str] = [Path(p) for p in paths if not _is_url(p)]
    web = None
    if urls or feeds:
        from .ingest.pages import WEB_DIR, gather

        web = gather(urls, feeds, Path(settings.index) / WEB_DIR, settings.web)
        files += web.files
    if not files and web is not None and web.failed:
        raise RagError(web.failed[0][1] if len(web.failed) == 1 else f"no page could be fetched ({len(web.failed)} "
                       f"failed), the first: {web.failed[0][1]}")
    if not files:
        raise RagError("nothing to index: give files, folders or https:// pages (or --feed URL)")
    return files, web


@app.command()
def search(
    question: Annotated[str, typer.Argument(help="What to look for.")],
    k: Annotated[Optional[int], typer.Option("-k", "--top-k", min=1, help="How many passages.")] = None,
    mode: Annotated[Optional[str], typer.Option("--mode", help="dense, lexical or hybrid.")] = None,
    source: SourceOpt = None,
    since: SinceOpt = None,
    until: UntilOpt = None,
    as_of: AsOfOpt = None,
    exclude_flagged: ExcludeFlaggedOpt = False,
    index_dir: IndexOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Show the passages that best match a question (time words steer them as they steer `rag ask`)."""
    from .search.pipeline import retrieve
    from .search.filters import parse_as_of
    from .search.retriever import Filters, Retriever
    from . import terminal

    _check_question(question)
    settings = _settings(index=index_dir, **{"retrieve.k": k, "retrieve.mode": mode,
                                             "retrieve.exclude_flagged": exclude_flagged or None})
    found = retrieve(Retriever(settings), question, settings.retrieve.k, filters=Filters(source, since, until),
                     as_of=parse_as_of(as_of))
    passages = found.passages
    if json_out:
        typer.echo(json.dumps({"question": question, "passages": [p.to_dict() for p in passages],
                               "time_scope": found.time_scope}, indent=2, ensure_ascii=False))
        return
    if found.time_scope and found.time_scope["actions"]:
        typer.secho(f"(time words: {'; '.join(found.time_scope['actions'])})", dim=True, err=True)
    if not passages:
        typer.echo("No matching passages.")
    for n, p in enumerate(passages, start=1):
        typer.secho(f"[{n}] {p.source}  chars {p.start}-{p.end}  score {p.score:.3f}", bold=True)
        if p.flags:  # the passage is shown as stored; `rag ask` never shows its flagged text to the model
            typer.secho(f"    FLAGGED, text written to steer the assistant: {terminal.describe_flags(p.flags)}",
                        fg="yellow", bold=True)
        typer.echo("    " + p.text.replace("\n", "\n    ") + "\n")


@app.command()
def docs(
    fields: Annotated[Optional[list[str]], typer.Argument(help="With --set: FIELD=VALUE pairs (date, outlet, url, title).")] = None,
    set_source: Annotated[Optional[str], typer.Option("--set", help="Correct a document's metadata, e.g. --set a.txt "
                                                      "date=2024-03-02 outlet=Reuters (kept when re-indexing).")] = None,
    flagged: Annotated[bool, typer.Option("--flagged", help="Only documents holding text flagged as written to steer "
                                          "the assistant, with each flagged span.")] = False,
    index_dir: IndexOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """List the documents in an index: date and where it came from, outlet, passages, title, flags."""
    from .index.backend import open_store
    from . import terminal

    settings = _settings(index=index_dir)
    if set_source or fields:
        from .index.build import relabel_index
        from .index.usermeta import parse_assignments

        if not set_source:
            raise RagError("FIELD=VALUE pairs need --set SOURCE: rag docs --set a.txt date=2024-03-02")
        relabel_index(settings, set_source, parse_assignments(fields or []))
        typer.echo(f"set {' '.join(fields or [])} for {set_source} (kept when re-indexing)")
    store = open_store(settings)  # the index folder, or the Milvus store RAG_STORE__BACKEND names
    rows = [row for row in store.documents() if row.flags or not flagged]
    if json_out:
        typer.echo(json.dumps({"manifest": store.manifest, "documents": [row.to_dict() for row in rows]}, indent=2,
                              ensure_ascii=False))
        return
    if flagged:
        from .guard.flags import flag_line

        typer.echo(f"{len(rows)} flagged documents (text written to steer the assistant: never shown to the model "
                   "nor quoted)")
        typer.echo("\n".join(f"  {flag_line(row.source, flag)}" for row in rows for flag in row.flags))
        return
    typer.echo(f"{len(rows)} documents, {store.size} chunks, model {store.model_id}")
    for row in rows:
        typer.echo(terminal.document_line(row))


@app.command()
def check(index_dir: IndexOpt = None, json_out: JsonOpt = False) -> None:
    """Validate an index (files, counts, vectors, spans); exits 1 listing every problem."""
    from .index.backend import check_store

    settings = _settings(index=index_dir)
    result = check_store(settings)  # the index folder, or the Milvus store RAG_STORE__BACKEND names
    if json_out:
        typer.echo(json.dumps(result.to_dict(), indent=2, ensure_ascii=False))
    else:
        counts = f"{result.counts.get('documents', '?')} documents, {result.counts.get('chunks', '?')} chunks"
        typer.echo(f"{'ok' if result.ok else 'damaged'}: {result.index} ({result.generation or 'no generation'}; {counts})")
        for problem in result.problems:
            typer.echo(f"  problem: {problem}")
        for note in result.notes:
            typer.echo(f"  note: {note}")
        if not result.ok:
            typer.echo(f"Run `rag index PATH --rebuild --index {settings.index}` to rebuild it.")
    if not result.ok:
        raise typer.Exit(1)


@app.command("eval")
def eval_command(
    gold: Annotated[Optional[Path], typer.Argument(help="Gold questions (JSONL; see docs/eval.md).")] = None,
    index_dir: Annotated[Optional[Path], typer.Option("--index", help="Index folder; with --dataset, the folder holding index/<dataset> (default index/).")] = None,
    llm: Annotated[Optional[str], typer.Option("--llm", help="Chat model spec (local, provider:model, .gguf path).")] = None,
    out: Annotated[Optional[Path], typer.Option("--out", help="Run folder (default runs/<timestamp>/).")] = None,
    retrieval_only: Annotated[bool, typer.Option("--retrieval-only", help="Score retrieval only; no LLM calls.")] = False,
    limit: Annotated[Optional[int], typer.Option("--limit", min=1, help="Evaluate N questions (up to half unanswerable when the set has both).")] = None,
    mode: Annotated[Optional[str], typer.Option("--mode", help="dense, lexical or hybrid.")] = None,
    k: Annotated[Optional[int], typer.Option("-k", "--top-k", min=1, help="k of hit@k and recall@k (retrieve.k).")] = None,
    dataset: Annotated[Optional[str], typer.Option("--dataset", help="Public set to index and score: clapnq, scifact, seed or realtimeqa.")] = None,
    shared: Annotated[Optional[Path], typer.Option("--shared", help="Folder holding eval/ data sets (default ../shared).")] = None,
    split: Annotated[str, typer.Option("--split", help="CLAPNQ lines: all, train, calibration (choose thresholds) or report (lines 151-180, never tuned on); realtimeqa weeks: all, dev (January-February) or report (March).")] = "all",
    as_of: AsOfOpt = None,
    baseline: Annotated[bool, typer.Option("--baseline", help="Also score the plain LangChain pipeline (splitter, "
                                           "same embedder, FAISS, top-k, same model) on the same questions.")] = False,
    judge: Annotated[Optional[str], typer.Option("--judge", help="Also grade answers with this chat model (reported as LLM-judged).")] = None,
    compare: Annotated[Optional[tuple[Path, Path]], typer.Option("--compare", help="Compare two run folders: --compare RUN_A RUN_B.")] = None,
    receipts: Annotated[Optional[Path], typer.Option("--receipts", help="Re-run a folder of receipts as regression "
                                                     "fixtures: each still verifies and is answered with the same quotes.")] = None,
    json_out: JsonOpt = False,
) -> None:
    """Score retrieval, answers, citations and refusals against gold answers; write a report."""
    if compare:
        from .eval.compare import compare_runs, format_comparison

        comparison = compare_runs(*compare)
        typer.echo(json.dumps(comparison.to_dict(), indent=2) if json_out else format_comparison(comparison))
        return
    if receipts:
        from .eval.receipts import format_results, rerun_receipts

        results = rerun_receipts(receipts, _settings(index=index_dir, **{"llm.spec": llm}))
        typer.echo(json.dumps([r.to_dict() for r in results], indent=2, ensure_ascii=False) if json_out
                   else format_results(results))
        if not all(r.passed for r in results):
            raise typer.Exit(1)
        return
    from .eval.command import EvalRequest, execute, headline

    metrics, run_dir = execute(EvalRequest(gold=gold, dataset=dataset, shared=shared, index=index_dir, out=out, llm=llm,
                                           judge=judge, retrieval_only=retrieval_only, limit=limit, mode=mode, k=k,
                                           split=split, as_of=as_of, baseline=baseline))
    if json_out:
        typer.echo(json.dumps(metrics, indent=2))
        return
    typer.echo("\n".join(headline(metrics)))
    typer.echo(f"Report: {run_dir / 'report.html'} (also report.md, results.jsonl, metrics.json)")


@app.command()
def ask(
    question: Annotated[str, typer.Argument(help="The question to answer from the indexed documents ('-' reads it from stdin).")],
    llm: Annotated[Optional[str], typer.Option("--llm", help="Chat model: local (default), a .gguf path, provider:model "
                                               "(openai:gpt-4o-mini, anthropic:..., ollama:llama3.1) [env: RAG_LLM__SPEC].")] = None,
    base_url: Annotated[Optional[str], typer.Option("--base-url", help="OpenAI-compatible server URL [env: RAG_LLM__BASE_URL].")] = None,
    passages: Annotated[Optional[int], typer.Option("-n", "--passages", min=1, help="Passages shown to the model [env: RAG_ANSWER__PASSAGES].")] = None,
    max_tokens: Annotated[Optional[int], typer.Option("--max-tokens", min=16, help="Most tokens generated [env: RAG_LLM__MAX_TOKENS].")] = None,
    source: SourceOpt = None,
    since: SinceOpt = None,
    until: UntilOpt = None,
    as_of: AsOfOpt = None,
    exclude_flagged: ExcludeFlaggedOpt = False,
    index_dir: IndexOpt = None,
    json_out: JsonOpt = False,
    output: Annotated[str, typer.Option("--format", help="text (streamed), json or markdown.")] = "text",
    receipt: Annotated[Optional[Path], typer.Option("--receipt", help="Also write a JSON receipt (quotes, spans, file "
                                                    "sha256s, model, settings) that `rag verify` re-checks.")] = None,
) -> None:
    """Answer a question from your documents, citing verified quotes. Exit code 0 answered, 3 declined, 1 error."""
    from .answer.assistant import Assistant
    from .search.filters import Filters, parse_as_of
    from . import terminal

    day = parse_as_of(as_of)
    output = "json" if json_out else output
    if output not in ("text", "json", "markdown"):
        raise RagError(f"unknown --format {output!r}: use text, json or markdown")
    question = sys.stdin.read().strip() if question == "-" else question
    settings = _settings(index=index_dir, **{"llm.spec": llm, "llm.base_url": base_url, "answer.passages": passages,
                                             "llm.max_tokens": max_tokens,
                                             "retrieve.exclude_flagged": exclude_flagged or None})
    shown: list[str] = []

    def on_token(text: str) -> None:
        shown.append(text)
        typer.echo(text, nl=False)

    live = {"on_token": on_token, "on_evidence": terminal.print_evidence} if output == "text" else {}
    assistant = Assistant(settings)
    # as_of in the filters too, so the receipt records it and `rag eval --receipts` asks from the same day
    filters = Filters(source, since, until, as_of=day.isoformat() if day else None)
    result = assistant.ask(question, filters=filters, as_of=day, **live)
    if receipt:
        from .checks.receipt import build_receipt, write_receipt
        from .search.retriever import Retriever

        store = assistant.retriever.store if isinstance(assistant.retriever, Retriever) else None  # the index read
        write_receipt(receipt, build_receipt(result, settings, store, filters))
    if output == "json":
        typer.echo(json.dumps(result.to_dict(), indent=2, ensure_ascii=False))
    elif output == "markdown":
        typer.echo(terminal.markdown(result), nl=False)
    else:
        terminal.print_text(result, "".join(shown))
    raise typer.Exit(terminal.exit_code(result))


@app.command()
def verify(
    receipt: Annotated[Path, typer.Argument(help="A receipt written by rag ask --receipt.")],
    root: Annotated[Optional[Path], typer.Option("--root", help="Folder holding the sources (by source name), when "
                                                 "they moved or this is another machine.")] = None,
    json_out: JsonOpt = False,
) -> None:
    """Re-check a receipt offline: each source file unchanged, each quote still at its span. Exit 1 naming what changed."""
    from .checks.receipt import read_receipt, verify_receipt

    result = verify_receipt(read_receipt(receipt), root=root, base=receipt.resolve().parent)
    if json_out:
        typer.echo(json.dumps({"ok": result.ok, "quotes": result.checked, "files": result.files,
                               "problems": result.problems}, indent=2, ensure_ascii=False))
    elif result.ok:
        typer.echo(f"ok: {result.checked} quotes in {result.files} files stand where the receipt says")
    else:
        typer.echo(f"changed: {len(result.problems)} problem(s) in {receipt}")
        for problem in result.problems:
            typer.echo(f"  {problem}")
    if not result.ok:
        raise typer.Exit(1)


@app.command()
def chat(
    llm: Annotated[Optional[str], typer.Option("--llm", help="Chat model spec [env: RAG_LLM__SPEC].")] = None,
    as_of: AsOfOpt = None,
    exclude_flagged: ExcludeFlaggedOpt = False,
    index_dir: IndexOpt = None,
) -> None:
    """Talk to your documents in the terminal: follow-ups, /sources, /quit; in a pipe, one question per line."""
    from .answer.assistant import Assistant
    from .chat import run_chat
    from .search.filters import parse_as_of

    assistant = Assistant(_settings(index=index_dir, **{"llm.spec": llm, "retrieve.exclude_flagged": exclude_flagged or None}))
    raise typer.Exit(run_chat(assistant, as_of=parse_as_of(as_of)))


# The commands that start a server live in cli_servers.py; registered here so `rag --help` lists them in order.
app.command()(cli_servers.ui)
app.command()(cli_servers.serve)
app.command()(cli_servers.mcp)


def _check_question(question: str) -> None:
    """Reject empty questions with a clear message."""
    if not question.strip():
        raise RagError("the question is empty: pass the question as text, e.g. rag search \"Why did ...?\"")


def main() -> None:
    """Console entry point: user errors are one line on stderr and exit code 1."""
    # llama.cpp's OpenMP threads spin while idle, halving decode speed when anything else wants a core
    # (benchmarks/llm_engine.py); OpenMP reads this once, so it is set before torch or the model loads.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    try:
        app()
    except RagError as exc:
        typer.secho(f"error: {exc}", fg="red", err=True)
        sys.exit(1)
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        sys.exit(130)
