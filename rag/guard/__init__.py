"""Poisoned documents: text written to steer the assistant (orders, fake answers, chat-turn markers, text hidden
from readers) is found when a document is read, stored as flags with its span, and kept out of answers.

- steering.py: which sentences steer (chat-format rules, then the trained linear model of linear.py);
- hidden.py: text readers never see (HTML comments and hidden elements, meta fields, Unicode tag characters);
- flags.py: a document's flags, and the answer-time helpers (redact a passage, find a quote's flag).
The model is built by scripts/train_steering.py and shipped in model/ with its sha256 and model card.
"""
