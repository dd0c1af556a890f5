"""End to end, through each real backend: for every challenge in the catalog, the reference scores full marks,
the starter and every mutant lose points, and one seed gives one report (what `harness validate` checks)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from harness.catalog import render_catalog
from harness.challenge import Kind, all_challenges
from harness.grader import grade
from harness.quiz import grade_quiz
from harness.validate import validate_challenge

REPO = Path(__file__).resolve().parent.parent
CODE = [c.id for c in all_challenges() if c.meta.kind is Kind.code]
QUIZZES = [c.id for c in all_challenges() if c.meta.kind is Kind.quiz]
SEED = 20261124


def by_id(challenge_id: str):
    return next(c for c in all_challenges() if c.id == challenge_id)


@pytest.mark.slow
@pytest.mark.parametrize("challenge_id", CODE)
def test_code_challenge_validates(challenge_id, backend):
    """Every mutant through docker; through the local backend, the reference (twice) and the starter: the mutants
    test the checks, which run on the trusted side alike for both backends, and the cheats the sandbox, which the
    adversarial tests attack on both (keeping CI under its time budget: the local cheats cost ~10 minutes)."""
    challenge = by_id(challenge_id)
    mutants = "none" if backend.name == "local" else "all"
    verdicts = validate_challenge(
        challenge, lambda path, seed: grade(challenge=challenge, submission=path, backend=backend, seed=seed), SEED,
        mutants=mutants)
    problems = [f"{v.subject}: {v.detail}" for v in verdicts if not v.ok]
    assert not problems, "\n".join(problems)
    assert len(verdicts) >= (3 if mutants == "none" else 7)  # reference twice, starter, (at least four) mutants


@pytest.mark.parametrize("challenge_id", QUIZZES)
def test_quiz_validates(challenge_id):
    challenge = by_id(challenge_id)
    verdicts = validate_challenge(challenge, lambda path, seed: grade_quiz(challenge=challenge, submission=path), SEED)
    problems = [f"{v.subject}: {v.detail}" for v in verdicts if not v.ok]
    assert not problems, "\n".join(problems)


def test_public_examples_pass_on_the_reference_and_fail_on_the_starter(tmp_path):
    for challenge in all_challenges():
        if challenge.meta.kind is not Kind.code:
            continue
        for label, solution, expect_pass in (("reference", challenge.reference, True), ("starter", challenge.starter, False)):
            folder = tmp_path / challenge.id / label
            folder.mkdir(parents=True)
            (folder / "solution.py").write_bytes(solution.read_bytes())
            for path in challenge.public_dir.iterdir():
                if path.is_file():
                    (folder / path.name).write_bytes(path.read_bytes())
            done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(folder)],
                                  cwd=folder, capture_output=True, text=True, timeout=300)
            assert (done.returncode == 0) == expect_pass, f"{challenge.id} public tests with the {label}:\n{done.stdout[-2000:]}"


def test_catalog_readme_is_current():
    """Regenerate with: make catalog"""
    expected = render_catalog(all_challenges(), "markdown")
    text = (REPO / "challenges" / "README.md").read_text()
    assert text[text.index("| id |"):].strip() == expected.strip()
