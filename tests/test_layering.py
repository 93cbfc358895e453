"""The package's imports run one way (COURSE_DESIGN.md §2): command line → pretrained checkpoints →
training → models → networks, losses, sampling, data → config, with no cycle.

Imports are read from the source (module level and inside functions alike: a function-level import
is still a dependency), so a new module is covered without being listed here.
"""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "genai_tf"

# A module whose name starts with a key may not import a module whose name starts with any of the
# values: the layers above it. ("genai_tf.models" covers every module of the models package.)
ABOVE = {
    "genai_tf.config": ("genai_tf.",),
    "genai_tf.losses": ("genai_tf.models", "genai_tf.training", "genai_tf.cli", "genai_tf.checkpoints",
                        "genai_tf.pretrain", "genai_tf.course", "genai_tf.exercises", "genai_tf.data"),
    "genai_tf.sampling": ("genai_tf.models", "genai_tf.training", "genai_tf.cli", "genai_tf.checkpoints",
                          "genai_tf.pretrain", "genai_tf.course", "genai_tf.exercises"),
    "genai_tf.data": ("genai_tf.training", "genai_tf.cli", "genai_tf.checkpoints", "genai_tf.pretrain",
                      "genai_tf.course", "genai_tf.exercises"),
    "genai_tf.models": ("genai_tf.training", "genai_tf.cli", "genai_tf.checkpoints", "genai_tf.pretrain",
                        "genai_tf.course", "genai_tf.exercises", "genai_tf.doctor"),
    "genai_tf.training": ("genai_tf.cli", "genai_tf.checkpoints", "genai_tf.pretrain", "genai_tf.course",
                          "genai_tf.exercises", "genai_tf.doctor"),
    "genai_tf.viz": ("genai_tf.training", "genai_tf.cli", "genai_tf.checkpoints", "genai_tf.pretrain",
                     "genai_tf.course", "genai_tf.exercises"),
    "genai_tf.exercises": ("genai_tf.cli", "genai_tf.course", "genai_tf.pretrain"),
}


def module_names() -> dict:
    modules = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        modules[name] = path
    return modules


def imported(name: str, path: Path, modules: dict) -> set:
    """The genai_tf modules ``name`` imports anywhere in its source."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[:len(parts) - node.level + 1] + ([base] if base else []))
            targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base for alias in node.names]
        elif isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        else:
            continue
        found.update(t for t in targets if t in modules and t not in (name, "genai_tf"))
    return found


MODULES = module_names()
GRAPH = {name: imported(name, path, MODULES) for name, path in MODULES.items()}


def test_the_import_graph_is_read():
    # a check that reads nothing would pass anything: the training loop imports the registry
    assert "genai_tf.models.registry" in GRAPH["genai_tf.training.loop"]
    assert len(MODULES) > 40


def test_no_import_cycle():
    state, cycles = {}, []

    def visit(name, path):
        state[name] = "open"
        for target in sorted(GRAPH[name]):
            if state.get(target) == "open":
                cycles.append(" → ".join([*path[path.index(target):], target]))
            elif target not in state:
                visit(target, [*path, target])
        state[name] = "done"

    for name in sorted(GRAPH):
        if name not in state:
            visit(name, [name])
    assert not cycles, "import cycles: " + "; ".join(cycles)


@pytest.mark.parametrize("layer", sorted(ABOVE))
def test_no_layer_imports_a_layer_above_it(layer):
    wrong = [f"{name} imports {target}" for name in sorted(GRAPH)
             if name == layer or name.startswith(layer + ".")
             for target in sorted(GRAPH[name]) if target.startswith(ABOVE[layer])]
    assert not wrong, "; ".join(wrong)
