"""Command line: `rag index`, `rag search`, `rag docs` (heavy libraries load only inside commands)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from . import __version__
from .errors import RagError

app = typer.Typer(
    help="Answer questions from your documents, with verified quotes.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

IndexOpt = Annotated[Optional[Path], typer.Option("--index", help="Index folder [env: RAG_INDEX; default index/default].")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]


def _settings(**overrides: object):
    """Settings from env with CLI overrides applied."""
    from .config import load_settings

    return load_settings(**overrides)


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
    paths: Annotated[list[Path], typer.Argument(help="Files or folders to index (txt, md, html, pdf, docx).")],
    index_dir: IndexOpt = None,
    rebuild: Annotated[bool, typer.Option("--rebuild", help="Re-embed everything (needed after changing the embedding model).")] = False,
    prune: Annotated[bool, typer.Option("--prune", help="Also remove indexed documents not among PATHS.")] = False,
    embed_model: Annotated[Optional[str], typer.Option("--embed-model", help="sentence-transformers model name or path.")] = None,
    json_out: JsonOpt = False,
) -> None:
    """Index documents; re-running only re-embeds new or changed files."""
    from .embed import get_embedder
    from .indexer import index_paths

    settings = _settings(index=index_dir, **{"embed.model": embed_model})
    embedder = get_embedder(settings.embed.model, settings.embed.batch_size, settings.embed.device)
    report = index_paths(paths, settings, embedder, prune=prune, rebuild=rebuild, progress=not json_out)
    if json_out:
        typer.echo(json.dumps(_report_dict(report, settings.index), indent=2))
    else:
        _print_report(report, settings.index)


def _report_dict(report, index_dir: Path) -> dict:
    """JSON form of an IndexReport."""
    return {
        "index": str(index_dir), "documents": report.documents, "chunks": report.chunks,
        "added": report.added, "updated": report.updated, "removed": report.removed,
        "unchanged": len(report.unchanged), "embedded_chunks": report.embedded_chunks,
        "skipped": [{"source": s.source, "reason": s.reason} for s in report.skipped],
        "seconds": round(report.seconds, 3),
    }


def _print_report(report, index_dir: Path) -> None:
    """Human summary of an indexing run."""
    typer.echo(
        f"Indexed {report.documents} documents, {report.chunks} chunks into {index_dir} in {report.seconds:.1f} s "
        f"({len(report.added)} added, {len(report.updated)} updated, {len(report.removed)} removed, "
        f"{len(report.unchanged)} unchanged; {report.embedded_chunks} chunks embedded)"
    )
    if report.skipped:
        typer.echo(f"Skipped {len(report.skipped)}:")
        for skipped in report.skipped:
            typer.echo(f"  {skipped.source}: {skipped.reason}")


@app.command()
def search(
    question: Annotated[str, typer.Argument(help="What to look for.")],
    k: Annotated[Optional[int], typer.Option("-k", "--top-k", min=1, help="How many passages.")] = None,
    mode: Annotated[Optional[str], typer.Option("--mode", help="dense, lexical or hybrid.")] = None,
    source: Annotated[Optional[str], typer.Option("--source", help="Only sources matching this glob.")] = None,
    since: Annotated[Optional[str], typer.Option("--since", help="Only documents dated on/after YYYY-MM-DD.")] = None,
    until: Annotated[Optional[str], typer.Option("--until", help="Only documents dated on/before YYYY-MM-DD.")] = None,
    index_dir: IndexOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Show the passages that best match a question."""
    from .retrieve import Filters, Retriever

    _check_question(question)
    settings = _settings(index=index_dir, **{"retrieve.k": k, "retrieve.mode": mode})
    passages = Retriever(settings).search(question, filters=Filters(source, since, until))
    if json_out:
        typer.echo(json.dumps({"question": question, "passages": [p.to_dict() for p in passages]}, indent=2, ensure_ascii=False))
        return
    if not passages:
        typer.echo("No matching passages.")
    for n, p in enumerate(passages, start=1):
        typer.secho(f"[{n}] {p.source}  chars {p.start}-{p.end}  score {p.score:.3f}", bold=True)
        typer.echo("    " + p.text.replace("\n", "\n    ") + "\n")


@app.command()
def docs(index_dir: IndexOpt = None, json_out: JsonOpt = False) -> None:
    """List the documents in an index."""
    from .store import IndexStore

    store = IndexStore(_settings(index=index_dir).index)
    rows = store.documents()
    if json_out:
        typer.echo(json.dumps({"manifest": store.manifest, "documents": rows}, indent=2, ensure_ascii=False))
        return
    typer.echo(f"{len(rows)} documents, {store.size} chunks, model {store.model_id}")
    for row in rows:
        typer.echo(f"  {row['source']}  {row['date'] or '-'}  {row['chunks']} chunks  {row['title'][:70]}")


def _check_question(question: str) -> None:
    """Reject empty questions with a clear message."""
    if not question.strip():
        raise RagError("the question is empty: pass the question as text, e.g. rag search \"Why did ...?\"")


def main() -> None:
    """Console entry point: user errors are one line on stderr and exit code 1."""
    try:
        app()
    except RagError as exc:
        typer.secho(f"error: {exc}", fg="red", err=True)
        sys.exit(1)
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        sys.exit(130)
