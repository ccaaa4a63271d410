"""The Milvus store (settings.store.backend = "milvus"; Milvus Lite in a file or a server): store.py reads,
writer.py writes and updates. The rest of the package reaches it only through index/backend.py."""
