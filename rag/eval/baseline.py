"""The plain LangChain pipeline, scored beside rag on the same questions and documents (`rag eval --baseline`).

What a LangChain tutorial builds: RecursiveCharacterTextSplitter(1000, 150) over each document's text, the same
embedding model, a flat FAISS index, the top k chunks by similarity (no BM25, no dates, no as-of), and the
"rlm/rag-prompt" prompt to the same chat model. Its vectors are cached beside the index
(`<index>.langchain-baseline.npz`), keyed by the documents' content hashes, so later runs only embed again when
the documents changed.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

    from ..config import Settings
    from ..index.embed import Embedder

CHUNK_SIZE, CHUNK_OVERLAP = 1000, 150
# LangChain hub "rlm/rag-prompt", the prompt of its RAG tutorial.
PROMPT = ("You are an assistant for question-answering tasks. Use the following pieces of retrieved context to answer "
          "the question. If you don't know the answer, just say that you don't know. Use three sentences maximum and "
          "keep the answer concise.\nQuestion: {question} \nContext: {context} \nAnswer:")
_DECLINED = re.compile(r"\b(?:(?:do not|don't|does not|doesn't) (?:know|say|mention|specify|provide)|not (?:mentioned|"
                       r"specified|stated|provided)|no information|cannot (?:be )?(?:determine|answer))", re.I)


@dataclass
class BaselineAnswer:
    """What the plain pipeline said: its text, whether it declined, and the chunks it read."""

    answer: str
    refused: bool
    chunks: list[str]


class LangChainBaseline:
    """Retrieval and answers of the plain pipeline over an index's documents."""

    def __init__(self, texts: list[str], vectors: np.ndarray, embedder: Embedder, llm: Any = None):
        import faiss

        self.texts, self.embedder, self.llm = texts, embedder, llm
        self.index = faiss.IndexFlatIP(vectors.shape[1])  # the vectors are normalised: inner product = cosine
        self.index.add(vectors)

    @classmethod
    def for_index(cls, settings: Settings, embedder: Embedder, llm: Any = None) -> LangChainBaseline:
        """The pipeline over the documents of settings.index, its vectors read from the cache or embedded once."""
        import numpy as np

        from ..index.backend import open_store

        with open_store(settings) as store:
            documents = store.load_documents()
        key = hashlib.sha256("\n".join(sorted(d.content_hash for d in documents)).encode()).hexdigest()
        cache = Path(f"{Path(settings.index)}.langchain-baseline.npz")
        if cache.is_file():
            saved = np.load(cache, allow_pickle=False)
            if str(saved["key"]) == key:
                return cls([str(t) for t in saved["texts"]], saved["vectors"], embedder, llm)
        texts = split_texts([d.original for d in documents])
        vectors = np.asarray(embedder.embed_documents(texts, progress=True), dtype="float32")
        np.savez(cache, key=np.array(key), texts=np.array(texts), vectors=vectors)
        return cls(texts, vectors, embedder, llm)

    def describe(self) -> str:
        """One line for the run's label."""
        return f"LangChain RecursiveCharacterTextSplitter({CHUNK_SIZE}, {CHUNK_OVERLAP}), flat FAISS, {len(self.texts)} chunks"

    def search(self, question: str, k: int) -> list[str]:
        """The top-k chunks by cosine similarity."""
        import numpy as np

        query = np.asarray(self.embedder.embed_query(question), dtype="float32").reshape(1, -1)
        _, ids = self.index.search(query, k)
        return [self.texts[i] for i in ids[0] if i >= 0]

    def answer(self, question: str, k: int = 4) -> BaselineAnswer:
        """The model's answer from the top-k chunks with the tutorial prompt."""
        from langchain_core.messages import HumanMessage

        chunks = self.search(question, k)
        reply = self.llm.invoke([HumanMessage(PROMPT.format(question=question, context="\n\n".join(chunks)))])
        text = str(reply.content).strip()
        return BaselineAnswer(text, bool(_DECLINED.search(text)) or not text, chunks)


def split_texts(texts: list[str]) -> list[str]:
    """Chunks of every text, as LangChain's RecursiveCharacterTextSplitter makes them."""
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    splitter = RecursiveCharacterTextSplitter(chunk_size=CHUNK_SIZE, chunk_overlap=CHUNK_OVERLAP)
    return [chunk for text in texts for chunk in splitter.split_text(text)]
