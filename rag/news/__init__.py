"""Everything news: when a source was published, by whom, what "this week" means, and what the sources say.

Its modules sit at three levels of the layer contract (tests/test_layers.py), so each is found here but used
only from above:
- read at ingestion: dates.py (datelines, front matter), outlets.py (the site behind a URL or a credit line),
  sidecar.py (a metadata file beside the documents);
- used by retrieval: timewords.py (time words resolved against an as-of date), timescope.py (how they steer
  which passages come first);
- used after answering: annotate.py (dates, outlets, as-of and independent sources on an answer),
  disagree.py and disagree_names.py (values and names the sources give differently; the doers of a verb
  come from rag/language/).
"""
