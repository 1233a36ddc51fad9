"""The project installs the same way everywhere: pip, conda and the lock agree."""

import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
# conda-forge names that differ from PyPI names
CONDA_NAMES = {"redis": "redis-py"}
# not on conda-forge: conda gets them through `pip: -e .` (environment.yml says so)
PIP_ONLY = {"pylopdf-fonts-zh-cn"}


def pyproject():
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def pip_requirements() -> dict[str, str]:
    project = pyproject()["project"]
    specs = project["dependencies"] + [
        spec for extra in project["optional-dependencies"].values() for spec in extra]
    parsed = {}
    for spec in specs:
        if ";" in spec:  # only on some platforms: conda gets it through `pip: -e .`
            continue
        name, version = re.fullmatch(r"([A-Za-z0-9_.-]+)(.*)", spec.replace(" ", "")).groups()
        if name.lower() in PIP_ONLY:
            assert name in (ROOT / "environment.yml").read_text(), f"say so for {name}"
            continue
        parsed[CONDA_NAMES.get(name.lower(), name.lower())] = version
    return parsed


def test_environment_yml_lists_the_same_dependencies_as_pyproject():
    """environment.yml has every pyproject dependency (runtime and test), same bounds."""
    environment = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda = {}
    for entry in environment["dependencies"]:
        if isinstance(entry, str):
            name, version = re.fullmatch(r"([A-Za-z0-9_.-]+)(.*)", entry.replace(" ", "")).groups()
            if name not in ("python", "pip"):
                conda[name.lower()] = version
    assert conda == pip_requirements()
    pip_section = next(e["pip"] for e in environment["dependencies"] if isinstance(e, dict))
    assert pip_section == ["-e ."]


def test_environment_yml_python_matches_requires_python():
    """Both files ask for the same minimum Python."""
    environment = yaml.safe_load((ROOT / "environment.yml").read_text())
    python = next(e for e in environment["dependencies"]
                  if isinstance(e, str) and re.fullmatch(r"python[<>=!~].*", e))
    assert python.replace("python", "") == pyproject()["project"]["requires-python"]


def test_every_dependency_is_pinned_in_the_constraints_file():
    """requirements/constraints.txt pins each dependency, so a classroom gets one set."""
    pinned = {}
    for line in (ROOT / "requirements" / "constraints.txt").read_text().splitlines():
        if line and not line.startswith("#"):
            name, version = line.split("==")
            pinned[name.lower().replace("_", "-")] = version
    inverse = {conda: pip for pip, conda in CONDA_NAMES.items()}
    missing = [inverse.get(n, n) for n in pip_requirements() if inverse.get(n, n) not in pinned]
    assert not missing, f"not pinned: {missing}; run `make lock`"


def test_make_workspace_copies_trusts_keeps_your_edits_and_reset_starts_over(tmp_path):
    """`make lab` works on a trusted, git-ignored copy; `make reset NB=..` restores one."""
    import os
    import subprocess

    import nbformat
    from nbformat.sign import NotebookNotary

    root = Path(__file__).resolve().parent.parent
    work = tmp_path / "workspace"

    def make(*args):
        subprocess.run(["make", "-s", "-C", str(root), *args, f"WORKSPACE={work}"],
                       check=True, capture_output=True, env=os.environ | {"MAKEFLAGS": ""})

    make("workspace")
    committed = sorted(p.name for p in (root / "notebooks").glob("[0-9][0-9]-*.ipynb"))
    assert sorted(p.name for p in work.glob("*.ipynb")) == committed
    notary = NotebookNotary(data_dir=os.environ.get(
        "JUPYTER_DATA_DIR", str(root / ".jupyter" / "data")))
    first = work / committed[1]
    assert notary.check_signature(nbformat.read(first, as_version=4))

    first.write_text(first.read_text().replace('"cells": [', '"cells": [ ', 1))
    edited = first.read_text()
    make("workspace")  # again: your edited copy is kept
    assert first.read_text() == edited
    make("reset", f"NB={committed[1][:2]}")
    assert first.read_bytes() == (root / "notebooks" / committed[1]).read_bytes()
    assert "workspace/" in (root / ".gitignore").read_text().split()
    assert ".ipynb_checkpoints/" in (root / ".gitignore").read_text().split()
