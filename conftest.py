"""Test set-up: force the quick ``smoke`` profile for unit tests and every notebook kernel.

nbval starts each notebook's kernel as a child of this process, so the environment set here
reaches the notebooks too. TensorBoard runs and checkpoints go to temporary folders, not the checkout.
"""

import os
import tempfile
from pathlib import Path

os.environ["GENAI_TF_PROFILE"] = "smoke"
os.environ.setdefault("GENAI_TF_RUNS_DIR", tempfile.mkdtemp(prefix="genai-tf-runs-"))
# Notebook 05 loads checkpoints when they exist: tests always train afresh and leave none behind.
os.environ.setdefault("GENAI_TF_CHECKPOINT_DIR", tempfile.mkdtemp(prefix="genai-tf-checkpoints-"))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("MPLBACKEND", "Agg")

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_MNIST = REPO_ROOT.parent / "shared" / "data" / "mnist.npz"
