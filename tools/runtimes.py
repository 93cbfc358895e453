"""Write the notebooks' measured runtimes from one file, ``notebooks/runtimes.json``, into the
two places a reader sees them: the README's course-map table (its smoke and full columns) and
the "time (measured)" table in each notebook's first cell. Nothing else holds a runtime, so the
two cannot disagree::

    python tools/runtimes.py            # rewrite the README and the notebooks that differ
    python tools/runtimes.py --check    # list what differs, exit 1 (tests/test_runtimes.py)

Smoke times are measured, not typed: run the suite with ``GENAI_TF_RUNTIMES_LOG=FILE`` (the
root ``conftest.py`` then writes each notebook's nbval seconds to FILE) and fold them in::

    GENAI_TF_RUNTIMES_LOG=/tmp/smoke.json pytest
    python tools/runtimes.py --smoke-from /tmp/smoke.json --measured "the whole suite, 2 workers, 2026-12-02"

Full-profile times come from a full run (the notebook's last cell prints its wall and CPU time):
edit their ``full.time`` text in the JSON file, then run the script.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RUNTIMES = ROOT / "notebooks" / "runtimes.json"
HEADER = ["| profile | hardware | time (measured) |", "|---|---|---|"]
GPU_ROW = "| `full` | GPU | not measured yet |"
# | [NN_name](notebooks/NN_name.ipynb) | topic | smoke | full |
README_ROW = re.compile(r"^\| \[(?P<name>\d\d_\w+)\]\(notebooks/(?P=name)\.ipynb\) \| (?P<topic>.*?) \| .*? \| .*? \|$")


def load(path: Path = RUNTIMES) -> dict:
    runtimes = json.loads(Path(path).read_text(encoding="utf-8"))
    for name, entry in runtimes.items():
        for key in ("smoke", "full"):
            if key not in entry:
                raise SystemExit(f"{path}: {name} has no {key!r} entry")
    return runtimes


def smoke_time(entry: dict) -> str:
    smoke = entry["smoke"]
    if smoke.get("seconds") is None:
        return "not measured yet"
    return f"{smoke['seconds']:.0f} s under nbval ({smoke['measured']})"


def notebook_table(entry: dict) -> list[str]:
    """The header table of one notebook, as markdown lines."""
    return [*HEADER,
            f"| {entry['smoke']['profile']} | CPU, 2 cores | {smoke_time(entry)} |",
            f"| {entry['full']['profile']} | CPU, 2 cores | {entry['full']['time']} |",
            GPU_ROW]


def with_table(source: str, entry: dict, name: str) -> str:
    """``source`` (a notebook's first cell) with its runtime table replaced."""
    lines = source.split("\n")
    starts = [i for i, line in enumerate(lines) if line.startswith("| profile | hardware | time")]
    if len(starts) != 1:
        raise SystemExit(f"{name}: its first cell needs one table headed '| profile | hardware | time ...|' "
                         f"(found {len(starts)})")
    end = starts[0]
    while end < len(lines) and lines[end].startswith("|"):
        end += 1
    return "\n".join(lines[:starts[0]] + notebook_table(entry) + lines[end:])


def with_readme_times(text: str, runtimes: dict) -> str:
    """The README with each notebook's course-map row's smoke and full columns from ``runtimes``."""
    seen, out = set(), []
    for line in text.split("\n"):
        match = README_ROW.match(line)
        if match and match["name"] in runtimes:
            entry = runtimes[match["name"]]
            seen.add(match["name"])
            line = (f"| [{match['name']}](notebooks/{match['name']}.ipynb) | {match['topic']} | "
                    f"{smoke_time(entry)} | {entry['full']['time']} |")
        out.append(line)
    missing = sorted(set(runtimes) - seen)
    if missing:
        raise SystemExit(f"README.md has no course-map row for {missing}")
    return "\n".join(out)


def notebook_paths(root: Path = ROOT) -> dict[str, Path]:
    return {path.stem: path for path in sorted((root / "notebooks").glob("[0-9][0-9]_*.ipynb"))}


def differences(root: Path = ROOT, runtimes: dict | None = None, write: bool = False) -> list[str]:
    """What differs from ``runtimes`` (default: the JSON file); with ``write``, fix it."""
    import nbformat

    runtimes = load(root / "notebooks" / "runtimes.json") if runtimes is None else runtimes
    paths = notebook_paths(root)
    if sorted(paths) != sorted(runtimes):
        raise SystemExit(f"notebooks/runtimes.json lists {sorted(runtimes)}, the notebooks are {sorted(paths)}: "
                         "add or remove entries to match")
    changed = []
    for name, path in paths.items():
        notebook = nbformat.read(str(path), as_version=4)
        new = with_table(notebook.cells[0].source, runtimes[name], name)
        if new != notebook.cells[0].source:
            changed.append(str(path.relative_to(root)))
            if write:
                notebook.cells[0].source = new
                nbformat.write(notebook, str(path))
    readme = root / "README.md"
    text = readme.read_text(encoding="utf-8")
    new = with_readme_times(text, runtimes)
    if new != text:
        changed.append("README.md")
        if write:
            readme.write_text(new, encoding="utf-8")
    return changed


def record_smoke(runtimes: dict, seconds: dict, measured: str) -> dict:
    """``runtimes`` with the smoke ``seconds`` of the notebooks in ``seconds`` (name → s) replaced."""
    unknown = sorted(set(seconds) - set(runtimes))
    if unknown:
        raise SystemExit(f"smoke times for notebooks not in runtimes.json: {unknown}")
    for name, value in seconds.items():
        runtimes[name]["smoke"].update(seconds=round(float(value), 1), measured=measured)
    return runtimes


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="list what differs and exit 1; write nothing")
    parser.add_argument("--smoke-from", type=Path, help="a JSON file of {notebook: nbval seconds} "
                                                         "(GENAI_TF_RUNTIMES_LOG) to record first")
    parser.add_argument("--measured", help="how the smoke times were measured (with --smoke-from)")
    args = parser.parse_args(argv)
    if args.smoke_from is not None:
        if not args.measured:
            parser.error("--smoke-from needs --measured \"how, e.g. the whole suite, 2 workers, 2026-12-02\"")
        runtimes = record_smoke(load(), json.loads(args.smoke_from.read_text(encoding="utf-8")), args.measured)
        RUNTIMES.write_text(json.dumps(runtimes, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    changed = differences(write=not args.check)
    for path in changed:
        print(("differs: " if args.check else "rewrote: ") + path)
    return 1 if args.check and changed else 0


if __name__ == "__main__":
    sys.exit(main())
