"""rag: answers from your documents, every claim backed by a verified quote."""

__version__ = "0.1.0"
