"""How answers look in a terminal: evidence first, the checked answer, its sources and claim verdicts (text or
Markdown); shared by `rag ask` and `rag chat`."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import typer

from .types import Answer, Citation, ClaimCheck, Disagreement, DocumentRow, RefusalReason

# Exit codes of `rag ask`, for scripts: answered, declined (the documents do not say), failed.
EXIT_ANSWERED, EXIT_ERROR, EXIT_DECLINED = 0, 1, 3


def one_line(text: str) -> str:
    """Whitespace folded to single spaces."""
    return " ".join(text.split())


def print_evidence(evidence: Sequence[Citation]) -> None:
    """Evidence first, on stderr while the model writes: the best-matching sentence of each retrieved passage."""
    if not evidence:
        return
    typer.secho("Evidence found (retrieved, not yet an answer; each sentence is the file's text at its offsets):",
                dim=True, err=True)
    for c in evidence:
        typer.secho(f'  [{c.n}] {c.source}, chars {c.start}-{c.end}: "{one_line(c.quote)}"', dim=True, err=True)
    typer.secho("Answer:", dim=True, err=True)


def citation_mark(c: Citation) -> str:
    """✓ for a quote found verbatim in the file (the program's own choice says so), ✗ otherwise."""
    if not c.verified:
        return "✗ unverified"
    return "✓" if c.method == "model" else "✓ selected"


def provenance(c: Citation) -> str:
    """' (Reuters, 2024-03-02)' for a citation whose document has an outlet or a date, else ''."""
    parts = [p for p in (c.outlet, c.date) if p]
    return f" ({', '.join(parts)})" if parts else ""


def source_line(c: Citation) -> str:
    """One source as the terminal shows it: number, file, outlet and date, span, check mark, quote."""
    return f'[{c.n}] {c.source}{provenance(c)}, chars {c.start}-{c.end} {citation_mark(c)}: "{one_line(c.quote)}"'


def print_text(result: Answer, shown: str) -> None:
    """After the streamed answer: why it was declined, or the checked answer (if it changed) and its sources."""
    from .checks.reply import parse_reply

    typer.echo("")
    for warning in result.warnings:  # a source holds text written to steer the assistant
        typer.secho(f"warning: {warning}", fg="yellow", bold=True, err=True)
    if result.refused:
        if result.refusal_reason:
            typer.secho(f"({RefusalReason(result.refusal_reason).wording})", dim=True, err=True)
        if result.refusal_reason in (RefusalReason.NO_CITATION, RefusalReason.UNSUPPORTED):
            typer.echo(result.answer)
        print_claims(result.claims)
        print_news(result)
        return
    if result.answer != parse_reply(shown, len(result.passages)).text:  # markers corrected or claims removed
        typer.echo(f"\nWith checked citations: {result.answer}")
    if result.citations:
        typer.echo(f"\nSources ({result.as_of_words()}):" if result.as_of else "\nSources:")
    for c in result.citations:
        typer.echo(source_line(c))
    if result.dropped_citations:
        typer.secho(f"(dropped citations to missing passages: {result.dropped_citations})", dim=True, err=True)
    print_claims(result.claims)
    print_news(result)


def print_news(result: Answer) -> None:
    """Where the sources disagree (stdout), then claims resting on one source and what time words did (stderr)."""
    for d in result.disagreements:
        typer.echo(f"\n{disagreement_heading(d)}")
        for v in d.values:
            for c in [v.citation, *v.also]:
                typer.echo(f"  {v.value}: {source_line(c)}")
    single = [c for c in result.claims if c.supported and c.single_source]
    if single and len(result.claims) > 0:
        typer.secho(f"Resting on one source only: {len(single)} of {sum(c.supported for c in result.claims)} claims "
                    "(near-duplicate and wire copies count once).", dim=True, err=True)
    scope = result.time_scope or {}
    if scope.get("actions"):
        typer.secho(f"Time words {', '.join(repr(w) for w in scope['words'])}: {'; '.join(scope['actions'])}.",
                    dim=True, err=True)


def disagreement_heading(d: Disagreement) -> str:
    """'Sources differ on the number of people (42 people, 57 people):'."""
    return f"Sources differ on the {d.what} ({', '.join(v.value for v in d.values)}):"


def print_claims(claims: Sequence[ClaimCheck]) -> None:
    """What the claim check removed, and why (kept sentences are the answer above)."""
    removed = [c for c in claims if not c.supported]
    if any(c.support is not None for c in claims):
        kept = len(claims) - len(removed)
        typer.secho(f"Claims checked: {kept} of {len(claims)} supported by their quotes.", dim=True, err=True)
    for c in claims:
        for clause in c.trimmed if c.supported else []:
            marks = "".join(f"[{n}]" for n in c.citations)
            typer.secho(f"  cut from {marks}: {one_line(clause)} (its quotes do not back it)", dim=True, err=True)
    for c in removed:
        typer.secho(f"  removed: {one_line(c.sentence)} ({c.reason})", dim=True, err=True)


def markdown(result: Answer) -> str:
    """The answer as Markdown: text, then a numbered source list with the quotes as block quotes."""
    lines = [result.answer, ""]
    if result.refused and result.refusal_reason:
        lines.append(f"_{RefusalReason(result.refusal_reason).wording}_")
    if result.as_of:
        newest = " (the newest cited source)" if result.as_of == result.newest_source else ""
        lines += [f"_{result.as_of_words().capitalize()}{newest}._", ""]
    for c in result.citations:
        lines += [f"**[{c.n}]** `{c.source}`{provenance(c)}, chars {c.start}-{c.end} {citation_mark(c)}", "",
                  f"> {one_line(c.quote)}", ""]
    for d in result.disagreements:
        lines += [f"**{disagreement_heading(d)}**", ""]
        lines += [f"- {v.value}: `{c.source}`{provenance(c)}, chars {c.start}-{c.end}: “{one_line(c.quote)}”"
                  for v in d.values for c in [v.citation, *v.also]]
        lines.append("")
    removed = [c for c in result.claims if not c.supported]
    if removed:
        lines.append("Removed as unsupported: " + "; ".join(f"“{one_line(c.sentence)}” ({c.reason})" for c in removed))
    lines += [f"\n**Warning:** {warning}" for warning in result.warnings]
    return "\n".join(lines).rstrip() + "\n"


def exit_code(result: Answer) -> int:
    """EXIT_DECLINED when the documents do not answer, else EXIT_ANSWERED."""
    return EXIT_DECLINED if result.refused else EXIT_ANSWERED


def document_line(row: DocumentRow) -> str:
    """One document of `rag docs`: source, date and where it came from (or why none), outlet, passages, title."""
    date = f"{row.date} ({row.date_source or '?'})" if row.date else "no date"
    outlet = row.outlet or "-"
    if row.wire and row.wire != row.outlet:
        outlet += f" (credits {row.wire})"
    line = f"  {row.source}  {date}  {outlet}  {row.chunks} chunks  {row.title[:60]}"
    if not row.date and row.date_note:
        line += f"\n      no date: {row.date_note}"
    if row.flags:
        line += f"\n      FLAGGED, text written to steer the assistant: {describe_flags(row.flags)}"
    return line


def describe_flags(flags: list[dict]) -> str:
    """Each kind of flag once, with its lines (rag/guard/flags.py's wording)."""
    from .guard.flags import describe

    return describe(flags)


def index_report_dict(report, index_dir: Path) -> dict:
    """JSON form of an IndexReport."""
    return {
        "index": str(index_dir), "documents": report.documents, "chunks": report.chunks,
        "added": report.added, "updated": report.updated, "removed": report.removed,
        "unchanged": len(report.unchanged), "relabelled": report.relabelled, "embedded_chunks": report.embedded_chunks,
        "skipped": [{"source": s.source, "reason": s.reason} for s in report.skipped],
        "flagged": [{"source": source, "flags": flags} for source, flags in report.flagged],
        "seconds": round(report.seconds, 3),
    }


def print_web_report(web) -> None:
    """What fetching pages and feeds did (nothing when no URL was given)."""
    if web is None:
        return
    typer.echo(f"Web: {len(web.fetched)} page(s) fetched, {len(web.unchanged)} unchanged since the last run, "
               f"{len(web.failed)} failed")
    for _, reason in web.failed:
        typer.echo(f"  {reason}")


def print_index_report(report, index_dir: Path) -> None:
    """Human summary of an indexing run."""
    typer.echo(
        f"Indexed {report.documents} documents, {report.chunks} chunks into {index_dir} in {report.seconds:.1f} s "
        f"({len(report.added)} added, {len(report.updated)} updated, {len(report.removed)} removed, "
        f"{len(report.unchanged)} unchanged; {report.embedded_chunks} chunks embedded)"
    )
    if report.relabelled:
        typer.echo(f"Dates/outlets corrected for {len(report.relabelled)}: {', '.join(report.relabelled)}")
    if report.skipped:
        typer.echo(f"Skipped {len(report.skipped)}:")
        for skipped in report.skipped:
            typer.echo(f"  {skipped.source}: {skipped.reason}")
    if report.flagged:
        from .guard.flags import flag_line

        typer.echo(f"Flagged {len(report.flagged)} (text written to steer the assistant: never shown to the model "
                   "nor quoted; `rag docs --flagged` lists them):")
        for source, flags in report.flagged:
            typer.echo("\n".join(f"  {flag_line(source, flag)}" for flag in flags))
