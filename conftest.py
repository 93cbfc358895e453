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
if os.environ.get("PYTEST_XDIST_WORKER"):  # one of pytest-xdist's workers (pyproject's addopts: -n 2)
    # One TensorFlow thread per worker: two workers on two cores, not four threads fighting over
    # them (oversubscribed, TensorFlow's CPU kernels slow down many times). Notebook kernels
    # started by nbval inherit this.
    for variable in ("TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS", "OMP_NUM_THREADS"):
        os.environ.setdefault(variable, "1")

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_MNIST = REPO_ROOT.parent / "shared" / "data" / "mnist.npz"


# --- measured smoke times (tools/runtimes.py --smoke-from FILE) ---------------------------------
# With GENAI_TF_RUNTIMES_LOG=FILE, the seconds nbval spends on each notebook (set-up, every cell,
# tear-down) are written to FILE as {notebook: seconds} when the session ends. Under pytest-xdist
# the controller receives every worker's reports, so one file holds them all.
_RUNTIMES_LOG = os.environ.get("GENAI_TF_RUNTIMES_LOG")
_notebook_seconds: dict = {}


def pytest_runtest_logreport(report):
    path = report.nodeid.split("::")[0]
    if _RUNTIMES_LOG and path.endswith(".ipynb"):
        name = Path(path).stem
        _notebook_seconds[name] = _notebook_seconds.get(name, 0.0) + report.duration


def pytest_sessionfinish(session, exitstatus):
    if _RUNTIMES_LOG and _notebook_seconds and not os.environ.get("PYTEST_XDIST_WORKER"):
        import json

        Path(_RUNTIMES_LOG).write_text(json.dumps({k: round(v, 1) for k, v in sorted(_notebook_seconds.items())},
                                                  indent=1) + "\n")
