#!/usr/bin/env bash
# Create .venv and install rag with the CPU build of torch, the local LLM (xllamacpp, prebuilt), the UI and the API.
# Idempotent: a second run only checks what is there. Override with env vars:
#   RAG_EXTRAS     extras to install (default: local,onnx,ui,serve,eval,test,scale,mcp)
#   RAG_TORCH      torch requirement (default: torch==2.13.0, the CPU build here)
#   RAG_TORCH_INDEX_URL  a PyTorch CPU wheel index, where pip's default finds only CUDA builds
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${RAG_VENV:-.venv}
EXTRAS=${RAG_EXTRAS:-local,onnx,ui,serve,eval,test,scale,mcp}
TORCH=${RAG_TORCH:-torch==2.13.0}
PY=${PYTHON:-python3}

[ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
# pip's own warnings about index locations configured on this machine but absent are noise here
pip_quiet() { "$VENV/bin/pip" "$@" 2> >(grep -v "is ignored: it is neither a file nor a directory" >&2); }
stamp="$VENV/.rag-setup-$(cat pyproject.toml scripts/setup.sh | sha256sum | cut -c1-16)-$EXTRAS"
if [ -f "$stamp" ]; then
  exit 0
fi
pip_quiet install -q --upgrade pip
if ! "$VENV/bin/python" -c "import torch" 2>/dev/null; then
  echo "==> installing $TORCH (CPU build)"
  if [ -n "${RAG_TORCH_INDEX_URL:-}" ]; then
    pip_quiet install -q "$TORCH" --index-url "$RAG_TORCH_INDEX_URL"
  else
    pip_quiet install -q "$TORCH"
  fi
  "$VENV/bin/python" -c "import torch, sys; sys.exit(torch.version.cuda is not None)" 2>/dev/null ||
    echo "warning: this torch is a CUDA build (large); set RAG_TORCH_INDEX_URL to a CPU wheel index for the CPU build" >&2
fi
echo "==> installing rag[$EXTRAS]"
pip_quiet install -q -e ".[$EXTRAS]"
rm -f "$VENV"/.rag-setup-*
touch "$stamp"
echo "==> setup done: $VENV/bin/rag"
