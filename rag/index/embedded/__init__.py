"""The embedded store (the default backend): FAISS vectors, SQLite documents and passages and a BM25 index in
generation folders under the index folder. store.py reads, writer.py writes a whole generation, segments.py
appends a small change, lexical.py is the BM25 part."""
