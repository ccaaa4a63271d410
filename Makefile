# Two entry points: `make demo` (install, index the sample corpus, answer a question) and `make test`.
VENV ?= .venv
RAG := $(VENV)/bin/rag
QUESTION ?= Why did Armenia cancel CSTO exercises?

.PHONY: setup demo test browser

setup:
	bash scripts/setup.sh

demo: setup
	$(RAG) index examples/corpus
	$(RAG) ask "$(QUESTION)"

browser:
	@command -v chromium >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq chromium >/dev/null)

test: setup browser
	$(VENV)/bin/python -m pytest
