"""Test set-up: force the quick ``smoke`` profile for unit tests and every notebook kernel.

nbval starts each notebook's kernel as a child of this process, so the environment set here
reaches the notebooks too. TensorBoard runs go to a temporary folder, not the checkout.
"""

import os
import tempfile
from pathlib import Path

os.environ["GENAI_TF_PROFILE"] = "smoke"
os.environ.setdefault("GENAI_TF_RUNS_DIR", tempfile.mkdtemp(prefix="genai-tf-runs-"))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("MPLBACKEND", "Agg")

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_MNIST = REPO_ROOT.parent / "shared" / "data" / "mnist.npz"
