#!/usr/bin/python3
"""Fails if any cell of the executed notebooks reported an error.

tslab (plain) reports errors only as stderr text, and nbconvert does not fail on that; metalab's kernel
launcher sends proper `error` outputs. This checks both: any `error` output fails, and any stderr stream
fails unless it matches BENIGN_STDERR below (a short, reviewed list).

Usage: /usr/bin/python3 ci/check_outputs.py EXECUTED.ipynb [...]
Prints one line per notebook (cells run, plots shown) and every offending output in full.
"""
import json
import re
import sys

# Stderr text that is known not to be an error. Keep this list short; each entry needs a reason.
BENIGN_STDERR = [
    # Node prints this when a notebook uses fetch/other experimental APIs; not an error of ours.
    re.compile(r"^\(node:\d+\) ExperimentalWarning: .*$", re.M),
]

PLOT_MIMES = ("image/png", "image/svg+xml")


def text_of(value):
    return "".join(value) if isinstance(value, list) else str(value)


def benign(text):
    rest = text
    for pattern in BENIGN_STDERR:
        rest = pattern.sub("", rest)
    return rest.strip() == ""


def check(path):
    try:
        with open(path, encoding="utf-8") as f:
            nb = json.load(f)
    except (OSError, ValueError) as e:
        print(f"[FAIL] {path}: cannot read the executed notebook: {e}")
        return False
    problems = []
    code_cells = plots = 0
    for index, cell in enumerate(nb.get("cells", [])):
        if cell.get("cell_type") != "code":
            continue
        code_cells += 1
        label = f"cell {index} (id {cell.get('id', '?')}, [{cell.get('execution_count')}])"
        if cell.get("execution_count") is None and text_of(cell.get("source", "")).strip():
            problems.append(f"{label}: was not executed")
        for out in cell.get("outputs", []):
            kind = out.get("output_type")
            if kind == "error":
                tb = "\n".join(out.get("traceback", []))
                problems.append(f"{label}: {out.get('ename')}: {out.get('evalue')}\n{tb}")
            elif kind == "stream" and out.get("name") == "stderr":
                text = text_of(out.get("text", ""))
                if not benign(text):
                    problems.append(f"{label}: wrote to stderr:\n{text.rstrip()}")
            elif kind in ("display_data", "execute_result"):
                if any(m in out.get("data", {}) for m in PLOT_MIMES):
                    plots += 1
    status = "FAIL" if problems else "ok"
    print(f"[{status}] {path}: {code_cells} code cells, {plots} plots")
    for p in problems:
        print("  - " + p.replace("\n", "\n    "))
    return not problems


def main(paths):
    if not paths:
        sys.exit("usage: check_outputs.py EXECUTED.ipynb [...]")
    results = [check(p) for p in paths]
    if not all(results):
        sys.exit(f"{results.count(False)} of {len(results)} notebooks have cells that reported errors (see above).")


if __name__ == "__main__":
    main(sys.argv[1:])
