"""Every dependency is declared and locked.

Each module that harness/ imports (anywhere in a file, not only at its top) is either in the
standard library, part of harness itself, or provided by a distribution that pyproject.toml
declares in [project.dependencies]; and requirements.lock pins every declared distribution,
with hashes.
"""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = ROOT / "pyproject.toml"
LOCK = ROOT / "requirements.lock"


def normalise(name: str) -> str:
    """A distribution's name as PEP 503 compares them."""
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement_name(requirement: str) -> str:
    match = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", requirement)
    assert match, f"not a requirement: {requirement!r}"
    return normalise(match.group(1))


def declared_distributions(pyproject: Path = PYPROJECT, extras: tuple[str, ...] = ()) -> set[str]:
    project = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]
    lines = list(project.get("dependencies", []))
    for extra in extras:
        lines += project.get("optional-dependencies", {}).get(extra, [])
    return {requirement_name(line) for line in lines}


def imported_modules(package: Path) -> dict[str, set[str]]:
    """Top-level names of the modules imported in `package`'s files (absolute imports only), with where."""
    found: dict[str, set[str]] = {}
    for path in sorted(package.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue  # relative imports are the package's own
            for name in names:
                found.setdefault(name.split(".")[0], set()).add(f"{path.relative_to(package.parent)}:{node.lineno}")
    return found


def undeclared_imports(package: Path, declared: set[str]) -> list[str]:
    """One line for each imported module that is neither standard library, nor `package` itself,
    nor provided by a distribution in `declared` (normalised names)."""
    providers = packages_distributions()
    problems = []
    for module, where in sorted(imported_modules(package).items()):
        if module in sys.stdlib_module_names or module == package.name:
            continue
        distributions = {normalise(name) for name in providers.get(module, [])}
        if not distributions & declared:
            provided = f"provided by {', '.join(sorted(distributions))}" if distributions else "not installed"
            problems.append(f"{module} ({provided}), imported at {', '.join(sorted(where))}")
    return problems


def locked(lock: Path = LOCK) -> dict[str, str]:
    """Each pinned distribution of the lock and its requirement text, continuation lines joined."""
    entries = {}
    for line in lock.read_text(encoding="utf-8").replace("\\\n", " ").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            entries[requirement_name(line)] = line
    return entries


def test_every_import_of_harness_is_declared_in_pyproject():
    problems = undeclared_imports(ROOT / "harness", declared_distributions())
    assert problems == [], ("harness imports modules that pyproject.toml's [project.dependencies] does not "
                            "provide; declare them (then `make lock`):\n  " + "\n  ".join(problems))


def test_an_undeclared_import_fails_the_check(tmp_path):
    package = tmp_path / "harness"
    (package / "sub").mkdir(parents=True)
    (package / "__init__.py").write_text("import json\nfrom . import sub\nfrom harness.sub import thing\n")
    (package / "sub" / "__init__.py").write_text("def f():\n    import iniconfig.exceptions\n    import click\n")
    # iniconfig is installed (pytest needs it) but not declared; click is declared
    problems = undeclared_imports(package, declared_distributions())
    assert len(problems) == 1 and problems[0].startswith("iniconfig (provided by iniconfig)"), problems
    assert "harness/sub/__init__.py:2" in problems[0]
    (package / "late.py").write_text("import surely_not_a_module_anywhere\n")
    assert any(p.startswith("surely_not_a_module_anywhere (not installed)") for p in undeclared_imports(package, declared_distributions()))


def test_the_lock_pins_every_declared_dependency_with_hashes():
    entries = locked()
    wanted = declared_distributions(extras=("dev",))
    assert wanted - entries.keys() == set(), "pyproject.toml declares dependencies the lock lacks: run `make lock`"
    for name, text in entries.items():
        assert re.match(r"[A-Za-z0-9._-]+==\S+", text), f"{name} is not pinned exactly: {text[:120]}"
        assert "--hash=sha256:" in text, f"{name} has no hash"
    assert entries["torch"].startswith("torch==2.13.0+cpu "), "the lock takes torch's CPU build"
    for build_dependency in ("setuptools", "wheel", "pip"):
        assert build_dependency in entries, f"{build_dependency} is not in the lock (--allow-unsafe)"


def test_the_lock_names_no_host_path_or_index():
    text = LOCK.read_text(encoding="utf-8")
    assert not re.search(r"^\s*--(find-links|index-url|extra-index-url|trusted-host)\b|^\s*-[fi]\s", text, re.M)
    assert "/opt/" not in text and "file://" not in text and "://" not in text
