"""Quiz grading: answers are data, judged against a key that never leaves the trusted side."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.challenge import ChallengeError, load_challenge
from harness.quiz import grade_quiz, load_key
from harness.report import CheckStatus, RunStatus, for_candidate

from conftest import CATALOG


@pytest.fixture(scope="module")
def quiz():
    return load_challenge(CATALOG / "challenges" / "tiny-quiz")


def grade_text(quiz, tmp_path: Path, text: str | bytes):
    path = tmp_path / "answers.toml"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return grade_quiz(challenge=quiz, submission=path)


def test_right_answers_score_full_marks(quiz):
    report = grade_quiz(challenge=quiz, submission=quiz.reference)
    assert report.status is RunStatus.graded and report.score == report.max_score == 3


def test_case_and_spaces_are_forgiven_and_wrong_answers_say_so(quiz, tmp_path):
    report = grade_text(quiz, tmp_path, 'first = " b "\nsecond = "A"\n')
    assert report.score == 1
    assert report.checks[1].message == "expected D, found A"
    assert for_candidate(report).checks[1].message is None  # the key is not revealed to candidates


@pytest.mark.parametrize("text, message", [
    ('first = "B"\n', "no answer given"),
    ('first = "B"\nsecond = ""\n', "no answer given"),
    ('first = "B"\nsecond = "E"\n', "'E' is not one of the choices A, B, C, D"),
])
def test_missing_blank_or_impossible_answers_score_zero_for_that_question(quiz, tmp_path, text, message):
    report = grade_text(quiz, tmp_path, text)
    assert report.status is RunStatus.graded and report.score == 1
    assert report.checks[1].status is CheckStatus.failed and report.checks[1].message == message


@pytest.mark.parametrize("text, reason", [
    ("first = \n", "not valid TOML"),
    ('third = "A"\n', "does not have: third"),
    ("first = 2\n", "must be a string"),
    ("[first]\nx = 1\n", "must be a string"),
    (b"\xff\xfe", "not UTF-8"),
    ("# " + "x" * 70_000 + "\n", "larger than 64 KiB"),
])
def test_malformed_answers_files_are_ungradable_with_a_reason(quiz, tmp_path, text, reason):
    report = grade_text(quiz, tmp_path, text)
    assert report.status is RunStatus.ungradable and reason in report.reason and report.score == 0


def test_a_python_file_is_not_an_answers_file(quiz, tmp_path):
    path = tmp_path / "answers.py"
    path.write_text("first = 'B'\n")
    report = grade_quiz(challenge=quiz, submission=path)
    assert report.status is RunStatus.ungradable and "not a TOML answers file" in report.reason


def test_a_broken_key_names_the_file_and_field(quiz, tmp_path):
    import shutil

    root = tmp_path / "challenges" / "tiny-quiz"
    shutil.copytree(quiz.root, root)
    key = root / "hidden" / "key.toml"
    key.write_text(key.read_text().replace('answer = "D"', 'answer = "Z"'))
    with pytest.raises(ChallengeError, match=r"key.toml: field 'question.1'.*'Z' is not one of the choices"):
        load_key(load_challenge(root))
