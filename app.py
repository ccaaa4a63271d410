"""Start the web UI: `python app.py [--host H] [--port P] [--share] [--index DIR]` (same as `rag ui`)."""

from rag.ui.app import cli

if __name__ == "__main__":
    cli()
