"""Everything that judges an answer, kept apart from writing it (rag/answer/):

- gate.py: before the model writes, which retrieved passages state an answer (the trained judge), or why none do;
- reply.py: the model's reply read into text, claims, quotes and [n] markers, and the refusal wording;
- evidence.py: quotes found in their passages by character offsets, and the best sentence per passage;
- ground.py: each claim tied to the quotes that back it;
- claims.py: whether a claim's quotes support it (a judge), and the names and numbers it must share with them;
- repair.py: a claim cut for a missing name re-cited to the passage that holds it;
- receipt.py: `rag verify`, a saved answer's quotes checked again against the documents.

(`rag check`, the index's own integrity, lives in rag/index/integrity.py.)
"""
