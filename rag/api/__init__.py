"""HTTP API: `rag serve` (OpenAI-compatible chat completions with citations, and plain search/ask/documents)."""
