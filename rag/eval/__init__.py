"""Evaluation: score retrieval, answers, citations and refusals against gold answers."""
