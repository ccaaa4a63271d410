"""How answers look in a terminal: evidence first, the checked answer, its sources and claim verdicts (text or
Markdown); shared by `rag ask` and `rag chat`."""

from __future__ import annotations

from collections.abc import Sequence

import typer

from .types import Answer, Citation, ClaimCheck, RefusalReason

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


def print_text(result: Answer, shown: str) -> None:
    """After the streamed answer: why it was declined, or the checked answer (if it changed) and its sources."""
    from .answer.reply import parse_reply

    typer.echo("")
    if result.refused:
        if result.refusal_reason:
            typer.secho(f"({RefusalReason(result.refusal_reason).wording})", dim=True, err=True)
        if result.refusal_reason in (RefusalReason.NO_CITATION, RefusalReason.UNSUPPORTED):
            typer.echo(result.answer)
        print_claims(result.claims)
        return
    if result.answer != parse_reply(shown, len(result.passages)).text:  # markers corrected or claims removed
        typer.echo(f"\nWith checked citations: {result.answer}")
    if result.citations:
        typer.echo("\nSources:")
    for c in result.citations:
        typer.echo(f'[{c.n}] {c.source}, chars {c.start}-{c.end} {citation_mark(c)}: "{one_line(c.quote)}"')
    if result.dropped_citations:
        typer.secho(f"(dropped citations to missing passages: {result.dropped_citations})", dim=True, err=True)
    print_claims(result.claims)


def print_claims(claims: Sequence[ClaimCheck]) -> None:
    """What the claim check removed, and why (kept sentences are the answer above)."""
    removed = [c for c in claims if not c.supported]
    if any(c.support is not None for c in claims):
        kept = len(claims) - len(removed)
        typer.secho(f"Claims checked: {kept} of {len(claims)} supported by their quotes.", dim=True, err=True)
    for c in removed:
        typer.secho(f"  removed: {one_line(c.sentence)} ({c.reason})", dim=True, err=True)


def markdown(result: Answer) -> str:
    """The answer as Markdown: text, then a numbered source list with the quotes as block quotes."""
    lines = [result.answer, ""]
    if result.refused and result.refusal_reason:
        lines.append(f"_{RefusalReason(result.refusal_reason).wording}_")
    for c in result.citations:
        lines += [f"**[{c.n}]** `{c.source}`, chars {c.start}-{c.end} {citation_mark(c)}", "",
                  f"> {one_line(c.quote)}", ""]
    removed = [c for c in result.claims if not c.supported]
    if removed:
        lines.append("Removed as unsupported: " + "; ".join(f"“{one_line(c.sentence)}” ({c.reason})" for c in removed))
    return "\n".join(lines).rstrip() + "\n"


def exit_code(result: Answer) -> int:
    """EXIT_DECLINED when the documents do not answer, else EXIT_ANSWERED."""
    return EXIT_DECLINED if result.refused else EXIT_ANSWERED
