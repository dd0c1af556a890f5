"""Quiz grading: answers are data, judged against a key that never leaves the trusted side.

Answers files are taken as people save them: a byte-order mark, decorated letters ("(B)", "b."), a stray
key or one wrongly typed answer cost at most that one question, never the whole file.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from harness.challenge import ChallengeError, load_challenge
from harness.quiz import MAX_NOTES, grade_quiz, load_key
from harness.report import MAX_MESSAGE_CHARS, CheckStatus, Report, RunStatus, for_candidate

from conftest import CATALOG

RIGHT = 'first = "B"\nsecond = "D"\n'   # tiny-quiz: first is worth 1 point, second 2


@pytest.fixture(scope="module")
def quiz():
    return load_challenge(CATALOG / "challenges" / "tiny-quiz")


def grade_text(quiz, tmp_path: Path, text: str | bytes, **kwargs):
    path = tmp_path / "answers.toml"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return grade_quiz(challenge=quiz, submission=path, **kwargs)


def check(report, name):
    return next(c for c in report.checks if c.name == name)


def test_right_answers_score_full_marks(quiz):
    report = grade_quiz(challenge=quiz, submission=quiz.reference)
    assert report.status is RunStatus.graded and report.score == report.max_score == 3
    assert report.notes == []


def test_case_and_spaces_are_forgiven_and_wrong_answers_say_so(quiz, tmp_path):
    report = grade_text(quiz, tmp_path, 'first = " b "\nsecond = "A"\n')
    assert report.score == 1
    assert report.checks[1].message == "expected D, found A"
    assert for_candidate(report).checks[1].message is None  # the key is not revealed to candidates


@pytest.mark.parametrize("text, message", [
    ('first = "B"\n', "no answer given"),
    ('first = "B"\nsecond = ""\n', "no answer given"),
    ('first = "B"\nsecond = "  "\n', "no answer given"),
    ('first = "B"\nsecond = "E"\n', "'E' is not one of the choices A, B, C, D"),
    ('first = "B"\nsecond = "(e)"\n', "'E' (written '(e)') is not one of the choices A, B, C, D"),
])
def test_missing_blank_or_impossible_answers_score_zero_for_that_question(quiz, tmp_path, text, message):
    report = grade_text(quiz, tmp_path, text)
    assert report.status is RunStatus.graded and report.score == 1
    assert report.checks[1].status is CheckStatus.failed and report.checks[1].message == message


# --- encodings -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("data", [
    "\ufeff" + RIGHT,                                  # UTF-8 with a byte-order mark (Notepad's "UTF-8 with BOM")
    "\ufeff" + RIGHT.replace("\n", "\r\n"),            # ... and Windows line ends
    "\ufeff",                                          # a BOM and nothing else: graded, no answers
], ids=["utf8-bom", "utf8-bom-crlf", "bom-only"])
def test_a_utf8_byte_order_mark_is_skipped(quiz, tmp_path, data):
    report = grade_text(quiz, tmp_path, data.encode("utf-8"))
    assert report.status is RunStatus.graded, report.reason
    assert report.score == (0 if data == "\ufeff" else 3)
    assert report.submission.size_bytes == len(data.encode("utf-8"))  # the file as it is, BOM included


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be"])
def test_a_utf16_file_with_its_byte_order_mark_is_decoded(quiz, tmp_path, encoding):
    data = RIGHT.replace("\n", "\r\n")
    if encoding != "utf-16":
        data = "\ufeff" + data  # the explicit-order codecs write no BOM themselves
    report = grade_text(quiz, tmp_path, data.encode(encoding))
    assert report.status is RunStatus.graded, report.reason
    assert report.score == 3


def test_a_utf16_file_in_a_folder_is_decoded_too(quiz, tmp_path):
    (tmp_path / "answers.toml").write_bytes(RIGHT.encode("utf-16"))
    report = grade_quiz(challenge=quiz, submission=tmp_path)
    assert report.status is RunStatus.graded and report.score == 3


def test_a_broken_utf16_file_says_to_save_as_utf8(quiz, tmp_path):
    report = grade_text(quiz, tmp_path, b"\xff\xfe" + 'first = "B"'.encode("utf-16-le") + b"\x00\xdc")  # a lone surrogate
    assert report.status is RunStatus.ungradable and "save it as UTF-8" in report.reason


# --- answer decorations ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("written", ["B", "b", " b ", "B.", "b)", "B:", "(B)", "( b )", "[B]", "[b].", "(B).",
                                     "\tB.\t", "\u00a0B\u00a0", "B ."])
def test_decorated_letters_are_read_as_the_letter(quiz, tmp_path, written):
    report = grade_text(quiz, tmp_path, f'first = {json.dumps(written)}\nsecond = "(D)"\n')
    assert report.status is RunStatus.graded and report.score == 3, [c.message for c in report.checks]
    assert report.notes == []


@pytest.mark.parametrize("written", ["B and C", "B, C", "BC", "B/C", "maybe B", "Option B", "answer: B", "(B", "B)(",
                                     "B..", "((B))", "-B", "Б", "1"])
def test_anything_else_fails_that_question_alone_and_says_what_is_accepted(quiz, tmp_path, written):
    report = grade_text(quiz, tmp_path, f'first = {json.dumps(written)}\nsecond = "D"\n')
    assert report.status is RunStatus.graded and report.score == 2
    first = check(report, "first")
    assert first.status is CheckStatus.failed and first.points == 0
    assert repr(written) in first.message and 'one choice letter in quotes, such as "B"' in first.message
    assert check(report, "second").status is CheckStatus.passed
    # the candidate, who does not see hidden checks' messages, learns it from a note (which reveals no key)
    notes = for_candidate(report).notes
    assert len(notes) == 1 and "first" in notes[0] and "could not be read" in notes[0] and "second" not in notes[0]


# --- keys and types --------------------------------------------------------------------------------------------


def test_an_unknown_key_is_ignored_and_noted(quiz, tmp_path):
    report = grade_text(quiz, tmp_path, RIGHT + 'third = "A"\n[extra]\nx = 1\n')
    assert report.status is RunStatus.graded and report.score == 3 and report.reason is None
    assert len(report.notes) == 1
    note = report.notes[0]
    assert "ignored 2 keys" in note and "'third'" in note and "'extra'" in note and "first, second" in note
    assert for_candidate(report).notes == report.notes  # notes never reveal the key, so candidates keep them


def test_a_misspelt_key_is_noted_with_the_question_it_probably_meant(quiz, tmp_path):
    report = grade_text(quiz, tmp_path, 'frist = "B"\nSecond = "D"\n')
    assert report.status is RunStatus.graded and report.score == 0
    assert "'frist' (did you mean first?)" in report.notes[0] and "'Second' (did you mean second?)" in report.notes[0]
    assert check(report, "first").message == "no answer given"


def test_many_unknown_keys_make_one_short_note(quiz, tmp_path):
    text = RIGHT + "".join(f'junk_{i} = "A"\n' for i in range(500)) + f'{"k" * 5000} = "A"\n'
    report = grade_text(quiz, tmp_path, text)
    assert report.status is RunStatus.graded and report.score == 3
    assert len(report.notes) == 1 <= MAX_NOTES
    assert "ignored 501 keys" in report.notes[0] and "and 491 more" in report.notes[0]
    assert len(report.notes[0]) <= MAX_MESSAGE_CHARS


def test_notes_are_cut_to_1000_characters_however_long_the_quiz(quiz, tmp_path):
    root = tmp_path / "challenges" / "long-quiz"
    shutil.copytree(quiz.root, root)
    ids = [f"question_number_{i}_with_a_rather_long_identifier" for i in range(40)]
    (root / "hidden" / "key.toml").write_text("".join(
        f'[[question]]\nid = "{i}"\nprompt = "p"\nchoices = ["A", "B"]\nanswer = "A"\n\n' for i in ids))
    toml = root / "challenge.toml"
    toml.write_text(toml.read_text().replace('id = "tiny-quiz"', 'id = "long-quiz"').replace("max_score = 3", "max_score = 40"))
    answers = tmp_path / "answers.toml"
    answers.write_text("".join(f'{i} = ["A"]\n' for i in ids) + "".join(f'unknown_{i} = "A"\n' for i in range(20)))
    report = grade_quiz(challenge=load_challenge(root), submission=answers)
    assert report.status is RunStatus.graded and report.score == 0 and len(report.notes) == 2
    assert len(report.notes[0]) == MAX_MESSAGE_CHARS and report.notes[0].endswith("...")  # it lists all 40 ids
    assert "and 30 more" in report.notes[1] and len(report.notes[1]) <= MAX_MESSAGE_CHARS


@pytest.mark.parametrize("value, kind", [
    ("2", "an integer"),
    ("1.5", "a number"),
    ("true", "a boolean"),
    ('["B"]', "an array"),
    ('["B", "C"]', "an array"),
    ("{ x = 1 }", "a table"),
    ("1979-05-27", "a date or time"),
])
def test_a_wrongly_typed_answer_fails_that_question_alone(quiz, tmp_path, value, kind):
    report = grade_text(quiz, tmp_path, f'second = "D"\nfirst = {value}\n')
    assert report.status is RunStatus.graded and report.score == 2
    first = check(report, "first")
    assert first.status is CheckStatus.failed and f"found {kind}" in first.message and 'such as "B"' in first.message
    assert check(report, "second").status is CheckStatus.passed
    assert f"first (found {kind})" in report.notes[0]


def test_a_table_answer_fails_that_question_alone(quiz, tmp_path):
    report = grade_text(quiz, tmp_path, 'second = "D"\n[first]\nx = 1\n')
    assert report.status is RunStatus.graded and report.score == 2
    assert "found a table" in check(report, "first").message


# --- sizes -----------------------------------------------------------------------------------------------------


def test_a_60_kb_answer_is_cut_to_1000_characters_and_marked_truncated(quiz, tmp_path):
    report = grade_text(quiz, tmp_path, f'first = "{"B" * 60_000}"\nsecond = "D"\n')
    assert report.status is RunStatus.graded and report.score == 2
    first = check(report, "first")
    assert first.status is CheckStatus.failed and first.truncated is True
    assert len(first.message) == MAX_MESSAGE_CHARS and first.message.endswith("...")
    assert first.message.startswith("not one choice letter")  # what to do comes first, the echo is what is cut
    assert check(report, "second").truncated is False
    assert all(len(note) <= MAX_MESSAGE_CHARS for note in report.notes)
    assert len(report.model_dump_json()) < 10_000


def test_a_60_kb_wrongly_typed_answer_is_cut_too(quiz, tmp_path):
    report = grade_text(quiz, tmp_path, f'first = [{", ".join(["1"] * 20_000)}]\n')
    first = check(report, "first")
    assert first.truncated is True and len(first.message) == MAX_MESSAGE_CHARS


# --- the whole file --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("text, reason", [
    ("first = \n", "not valid TOML"),
    ('first = "B"\nfirst = "C"\n', "not valid TOML"),
    (b'first = "B"\n\xff', "not UTF-8"),
    (b"\xef\xbb\xbf\xff", "not UTF-8"),
    ("# " + "x" * 70_000 + "\n", "larger than 64 KiB"),
    (("# " + "x" * 70_000 + "\n").encode("utf-16"), "larger than 64 KiB"),
])
def test_malformed_answers_files_are_ungradable_with_a_reason(quiz, tmp_path, text, reason):
    report = grade_text(quiz, tmp_path, text)
    assert report.status is RunStatus.ungradable and reason in report.reason and report.score == 0
    assert len(report.reason) <= MAX_MESSAGE_CHARS


def test_a_python_file_is_not_an_answers_file(quiz, tmp_path):
    path = tmp_path / "answers.py"
    path.write_text("first = 'B'\n")
    report = grade_quiz(challenge=quiz, submission=path)
    assert report.status is RunStatus.ungradable and "not a TOML answers file" in report.reason


# --- the seed --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [None, 0, 7, 2**31 - 1])
def test_the_seed_is_reported_as_given(quiz, seed):
    report = grade_quiz(challenge=quiz, submission=quiz.reference, seed=seed)
    assert report.seed == seed


def test_the_command_line_seed_reaches_a_quiz_report():
    from harness.cli import main

    result = CliRunner().invoke(main, ["--challenges", str(CATALOG / "challenges"), "grade", "tiny-quiz",
                                       str(CATALOG / "reference_solutions" / "tiny-quiz" / "answers.toml"), "--seed", "42"])
    assert result.exit_code == 0, result.output
    report = Report.model_validate_json(result.stdout)
    assert report.seed == 42 and report.score == 3


# --- the key ---------------------------------------------------------------------------------------------------


def broken_key(quiz, tmp_path, old: str, new: str):
    root = tmp_path / "challenges" / "tiny-quiz"
    shutil.copytree(quiz.root, root)
    key = root / "hidden" / "key.toml"
    assert old in key.read_text()
    key.write_text(key.read_text().replace(old, new, 1))
    return load_challenge(root)


def test_a_broken_key_names_the_file_and_field(quiz, tmp_path):
    with pytest.raises(ChallengeError, match=r"key.toml: field 'question.1'.*'Z' is not one of the choices"):
        load_key(broken_key(quiz, tmp_path, 'answer = "D"', 'answer = "Z"'))


def test_a_key_choice_must_be_one_upper_case_letter_as_answers_are_read(quiz, tmp_path):
    with pytest.raises(ChallengeError, match=r"key.toml: field 'question.0.choices.0'"):
        load_key(broken_key(quiz, tmp_path, '["A", "B", "C", "D"]', '["a", "B", "C", "D"]'))
