"""The editable prompt templates, shipped inside the rag package as rag.prompts (see pyproject.toml)."""
