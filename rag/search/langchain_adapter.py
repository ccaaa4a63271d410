"""The rag retriever as a LangChain `BaseRetriever`, so it plugs into LangChain chains."""

from __future__ import annotations

from typing import Any

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document as LCDocument
from langchain_core.retrievers import BaseRetriever


class RagLangChainRetriever(BaseRetriever):
    """Wraps `rag.search.retriever.Retriever` (through the one retrieval path, time words applied); passage offsets
    and scores travel in the metadata."""

    retriever: Any
    k: int | None = None

    def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun) -> list[LCDocument]:
        from .pipeline import retrieve

        passages = retrieve(self.retriever, query, self.k or self.retriever.settings.retrieve.k).passages
        return [
            LCDocument(page_content=p.text, metadata={k: v for k, v in p.to_dict().items() if k != "text"})
            for p in passages
        ]
