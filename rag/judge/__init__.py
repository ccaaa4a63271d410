"""The judge: a small cross-encoder trained by this project (scripts/train_judge.py), shipped as int8 ONNX.

It reads a pair of texts and says how likely the second answers (a question) or supports (a claim) the first.
One model serves three uses: which retrieved passages answer the question (the gate before the LLM and what
the LLM reads), whether a quote backs a claim (the claim check), and the order of retrieved passages.
"""

from .pairs import claim_text, question_text
from .model_runner import PACKAGED, CrossEncoder
from .judge import TrainedJudge, shared_judge

__all__ = ["PACKAGED", "CrossEncoder", "TrainedJudge", "claim_text", "question_text", "shared_judge"]
