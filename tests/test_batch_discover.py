"""Batch input discovery: every kind of PATH, student ids, id patterns, duplicates, and hostile zips refused
(a student's own zip in a folder of submissions becomes an empty, ungradable entry instead of stopping the batch)."""

from __future__ import annotations

import errno
import os
import stat
import struct
import zipfile
from pathlib import Path

import pytest

from harness.batch import discover as discover_module
from harness.batch.discover import BatchInputError, Discovery, Entry, discover
from harness.report import Submission
from harness.submission import SubmissionError, read_submission

SOLUTION = b"def scale(x, k):\n    return x * k\n"


def write(path: Path, data: bytes = SOLUTION) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def make_zip(path: Path, files: dict[str, bytes], *, compression: int = zipfile.ZIP_DEFLATED) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", compression=compression) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return path


def find(tmp_path: Path, *paths: Path, submission_file: str = "solution.py", id_pattern: str | None = None) -> Discovery:
    return discover(list(paths), submission_file, id_pattern=id_pattern, unpack_dir=tmp_path / "unpacked")


def ids(found: Discovery) -> list[str]:
    return [entry.student_id for entry in found.entries]


def unpacked(tmp_path: Path) -> list[Path]:
    folder = tmp_path / "unpacked"
    return sorted(folder.rglob("*")) if folder.exists() else []


# --- kinds of PATH -----------------------------------------------------------------------------


def test_a_py_file_is_one_submission_named_by_its_stem(tmp_path):
    path = write(tmp_path / "alice.py")
    found = find(tmp_path, path)
    assert [(e.student_id, e.path, e.origin) for e in found.entries] == [("alice", path, str(path))]
    assert found.skipped == []


def test_a_file_named_like_the_submission_file_takes_its_folders_name(tmp_path):
    paths = [write(tmp_path / "class" / name / "solution.py") for name in ("bob", "alice")]
    found = find(tmp_path, *paths)
    assert ids(found) == ["bob", "alice"]  # the order the PATHs were given
    assert [e.path for e in found.entries] == paths


def test_a_file_of_another_kind_is_an_error_naming_it(tmp_path):
    path = write(tmp_path / "alice.txt", b"hello")
    with pytest.raises(BatchInputError, match=r"alice\.txt: not a \.py file, a \.zip or a folder"):
        find(tmp_path, path)


def test_a_missing_path_is_an_error_naming_it(tmp_path):
    with pytest.raises(BatchInputError, match=r"nobody\.py: no such file or folder"):
        find(tmp_path, write(tmp_path / "alice.py"), tmp_path / "nobody.py")


def test_a_folder_holding_the_submission_file_is_one_submission(tmp_path):
    folder = tmp_path / "alice"
    write(folder / "solution.py")
    write(folder / "notes.py")  # ignored: the folder is one student's
    found = find(tmp_path, folder)
    assert [(e.student_id, e.path, e.origin) for e in found.entries] == [("alice", folder, f"{folder}/solution.py")]


def test_a_folder_given_as_dot_is_named_by_its_real_name(tmp_path, monkeypatch):
    write(tmp_path / "alice" / "solution.py")
    monkeypatch.chdir(tmp_path / "alice")
    assert ids(find(tmp_path, Path("."))) == ["alice"]


def test_a_folder_of_submissions_one_level_deep_sorted_with_notes(tmp_path):
    root = tmp_path / "class"
    write(root / "dave.py")
    write(root / "alice" / "solution.py")
    make_zip(root / "carol.zip", {"solution.py": SOLUTION, "extra.txt": b"x"})
    make_zip(root / "bob.zip", {"bob-work/solution.py": SOLUTION, "bob-work/data.csv": b"1,2"})
    write(root / "notes.txt", b"notes")
    write(root / "deep" / "inner" / "solution.py")  # two levels down: not searched
    write(root / ".hidden.py")
    write(root / "__MACOSX" / "._alice.py")
    write(root / "__pycache__" / "x.pyc", b"")
    os.symlink(root / "dave.py", root / "link.py")
    os.symlink(tmp_path, root / "linkdir")

    found = find(tmp_path, root)

    assert ids(found) == ["alice", "bob", "carol", "dave"]
    origins = [e.origin for e in found.entries]
    assert origins == [f"{root}/alice/solution.py", f"{root}/bob.zip:bob-work/solution.py",
                       f"{root}/carol.zip:solution.py", f"{root}/dave.py"]
    assert found.skipped == [
        f"{root}/deep/: a folder without solution.py (only one level is searched)",
        f"{root}/link.py: a symbolic link (not followed)",
        f"{root}/linkdir: a symbolic link (not followed)",
        f"{root}/notes.txt: not a .py file, a .zip, or a folder holding solution.py",
    ]
    alice, bob, carol, dave = found.entries
    assert alice.path == root / "alice" and dave.path == root / "dave.py"
    for entry in (bob, carol):  # a student's zip: only the submission file comes out, into a fresh folder
        assert entry.path.parent == tmp_path / "unpacked"
        assert sorted(p.name for p in entry.path.iterdir()) == ["solution.py"]
        assert (entry.path / "solution.py").read_bytes() == SOLUTION


def test_a_quiz_takes_toml_files(tmp_path):
    root = tmp_path / "class"
    write(root / "alice.toml", b"q1 = 'a'\n")
    write(root / "bob" / "answers.toml", b"q1 = 'b'\n")
    write(root / "carol.py")
    found = find(tmp_path, root, submission_file="answers.toml")
    assert ids(found) == ["alice", "bob"]
    assert found.skipped == [f"{root}/carol.py: not a .toml file, a .zip, or a folder holding answers.toml"]
    with pytest.raises(BatchInputError, match=r"carol\.py: not a \.toml file"):
        find(tmp_path, root / "carol.py", submission_file="answers.toml")


def test_a_symbolic_link_given_as_a_path_is_followed(tmp_path):
    write(tmp_path / "real" / "alice.py")
    os.symlink(tmp_path / "real", tmp_path / "class")
    assert ids(find(tmp_path, tmp_path / "class")) == ["alice"]


def test_an_empty_folder_among_others_gets_a_note(tmp_path):
    (tmp_path / "empty").mkdir()
    found = find(tmp_path, write(tmp_path / "alice.py"), tmp_path / "empty")
    assert ids(found) == ["alice"]
    assert found.skipped == [f"{tmp_path / 'empty'}: no submissions in this folder"]


def test_nothing_found_says_where_it_looked_and_what_for(tmp_path):
    write(tmp_path / "class" / "notes.txt", b"x")
    with pytest.raises(BatchInputError) as caught:
        find(tmp_path, tmp_path / "class")
    message = str(caught.value)
    assert message.startswith(f"no submission found in {tmp_path / 'class'}: looked for .py files, folders holding solution.py")
    assert "notes.txt: not a .py file" in message


# --- zips given as PATHs -----------------------------------------------------------------------


def test_a_zip_with_the_submission_file_at_its_top_is_one_submission(tmp_path):
    path = make_zip(tmp_path / "alice.zip", {"solution.py": SOLUTION, "helper.py": b"x = 1\n"})
    (entry,) = find(tmp_path, path).entries
    assert (entry.student_id, entry.origin) == ("alice", f"{path}:solution.py")
    assert (entry.path / "solution.py").read_bytes() == SOLUTION
    assert entry.path.parent == tmp_path / "unpacked"


def test_a_zip_of_submissions_is_treated_like_a_folder(tmp_path):
    path = make_zip(tmp_path / "class.zip", {
        "alice/solution.py": SOLUTION, "bob.py": SOLUTION, "readme.md": b"x", "__MACOSX/._bob.py": b"junk",
        "carol.zip": make_zip(tmp_path / "src" / "carol.zip", {"solution.py": SOLUTION}).read_bytes()})
    found = find(tmp_path, path)
    assert ids(found) == ["alice", "bob", "carol"]
    assert [e.origin for e in found.entries] == [f"{path}:alice/solution.py", f"{path}:bob.py",
                                                  f"{path}:carol.zip:solution.py"]
    assert found.skipped == [f"{path}:readme.md: not a .py file, a .zip, or a folder holding solution.py"]


def test_a_zip_wrapped_in_one_folder_is_descended_into(tmp_path):
    path = make_zip(tmp_path / "export.zip", {"Assignment 1/alice/solution.py": SOLUTION,
                                              "Assignment 1/bob.py": SOLUTION, "__MACOSX/x": b""})
    found = find(tmp_path, path)
    assert ids(found) == ["alice", "bob"]
    assert [e.origin for e in found.entries] == [f"{path}:Assignment 1/alice/solution.py", f"{path}:Assignment 1/bob.py"]


def test_a_zip_whose_single_folder_holds_the_submission_file_is_that_students(tmp_path):
    path = make_zip(tmp_path / "class.zip", {"alice/solution.py": SOLUTION})
    (entry,) = find(tmp_path, path).entries
    assert (entry.student_id, entry.origin) == ("alice", f"{path}:alice/solution.py")


def assert_empty_entry(tmp_path: Path, entry: Entry, student_id: str, zip_path: Path) -> None:
    """A student's zip that yielded nothing: an entry all the same, a fresh empty folder, which grading reports
    ungradable (the folder has no solution.py)."""
    assert (entry.student_id, entry.origin) == (student_id, str(zip_path))
    assert entry.path.is_dir() and list(entry.path.iterdir()) == []
    assert entry.path.name == zip_path.name and entry.path.parent.parent == tmp_path / "unpacked"


def test_reading_an_empty_entry_says_the_folder_has_no_submission_file(tiny, tmp_path):
    make_zip(tmp_path / "class" / "bob.zip", {"notes.txt": b"forgot it"})
    (entry,) = find(tmp_path, tmp_path / "class").entries
    with pytest.raises(SubmissionError, match=r"the folder .*/bob\.zip has no solution\.py"):
        read_submission(tiny, entry.path, Submission(file_name="solution.py"))


@pytest.mark.parametrize("files", [
    {"a/solution.py": SOLUTION, "b/solution.py": SOLUTION},  # two top-level folders: neither is looked in
    {"notes.txt": b"forgot it"},
    {"deep/er/solution.py": SOLUTION},  # two levels down
    {},  # an empty zip
])
def test_a_students_zip_without_the_submission_file_is_an_empty_entry(tmp_path, files):
    make_zip(tmp_path / "class" / "bob.zip", files)
    write(tmp_path / "class" / "alice.py")
    found = find(tmp_path, tmp_path / "class")
    assert ids(found) == ["alice", "bob"]
    assert found.skipped == []  # the report says what is missing
    assert_empty_entry(tmp_path, found.entries[1], "bob", tmp_path / "class" / "bob.zip")
    assert unpacked(tmp_path) == [found.entries[1].path.parent, found.entries[1].path]


def test_a_file_that_is_not_a_zip_given_as_a_path_is_an_error_naming_it(tmp_path):
    path = write(tmp_path / "class.zip", b"not a zip at all")
    with pytest.raises(BatchInputError, match=r"class\.zip: not a valid zip file"):
        find(tmp_path, path)


def test_a_students_file_that_is_not_a_zip_is_an_empty_entry_with_a_note(tmp_path):
    zip_path = write(tmp_path / "class" / "bob.zip", b"PK\x03\x04 truncated")
    found = find(tmp_path, tmp_path / "class")
    (entry,) = found.entries
    assert_empty_entry(tmp_path, entry, "bob", zip_path)
    (note,) = found.skipped
    assert note.startswith(f"{zip_path}: not a valid zip file (")
    assert note.endswith("); it is graded as holding no solution.py")


# --- hostile zips ------------------------------------------------------------------------------


@pytest.mark.parametrize("name, why", [
    ("../x.py", "has a '..' component"),
    ("a/../../x.py", "has a '..' component"),
    ("..\\x.py", "has a '..' component"),
    ("/etc/x.py", "has an absolute name"),
    ("\\x.py", "has an absolute name"),
    ("C:/x.py", "has an absolute name"),
])
def test_hostile_names_are_refused(tmp_path, name, why):
    path = make_zip(tmp_path / "class.zip", {"alice.py": SOLUTION, name: SOLUTION})
    with pytest.raises(BatchInputError) as caught:
        find(tmp_path, path)
    assert str(caught.value) == f"{path}: refusing to unpack it: entry {name!r} {why}"
    assert unpacked(tmp_path) == [] and not (tmp_path / "x.py").exists()


def symlink_zip(path: Path, name: str = "solution.py", target: str = "/etc/passwd") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w") as archive:
        link = zipfile.ZipInfo(name)
        link.create_system = 3
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        archive.writestr(link, target)
    return path


HOSTILE_STUDENT_ZIPS = {
    "zip slip": (lambda path: make_zip(path, {"solution.py": SOLUTION, "../../evil.py": b"x"}),
                 "refusing to unpack it: entry '../../evil.py' has a '..' component"),
    "absolute name": (lambda path: make_zip(path, {"solution.py": SOLUTION, "/tmp/evil.py": b"x"}),
                      "refusing to unpack it: entry '/tmp/evil.py' has an absolute name"),
    "symbolic link": (symlink_zip, "refusing to unpack it: entry 'solution.py' is a symbolic link"),
    "bomb": (lambda path: make_zip(path, {"solution.py": SOLUTION, "bomb.bin": b"\0" * (4 * 1024 * 1024)}),
             "refusing to unpack it: entry 'bomb.bin' expands from "),
}


@pytest.mark.parametrize("kind", HOSTILE_STUDENT_ZIPS)
def test_a_hostile_students_zip_is_refused_but_the_student_keeps_an_entry(tmp_path, kind):
    build, why = HOSTILE_STUDENT_ZIPS[kind]
    write(tmp_path / "class" / "alice.py")
    zip_path = build(tmp_path / "class" / "bob.zip")
    write(tmp_path / "class" / "carol.py")
    found = find(tmp_path, tmp_path / "class")
    assert ids(found) == ["alice", "bob", "carol"]  # the batch goes on, and bob is not lost
    assert_empty_entry(tmp_path, found.entries[1], "bob", zip_path)
    (note,) = found.skipped
    assert note.startswith(f"{zip_path}: {why}") and note.endswith("; it is graded as holding no solution.py")
    assert unpacked(tmp_path) == [found.entries[1].path.parent, found.entries[1].path]  # nothing of the zip
    assert not list(tmp_path.rglob("evil.py"))


def test_a_hostile_students_zip_inside_a_class_zip_keeps_its_entry(tmp_path):
    bob = make_zip(tmp_path / "src" / "bob.zip", {"solution.py": SOLUTION, "../../evil.py": b"x"}).read_bytes()
    path = make_zip(tmp_path / "class.zip", {"export/alice.py": SOLUTION, "export/bob.zip": bob})
    found = find(tmp_path, path)
    assert ids(found) == ["alice", "bob"]
    assert found.entries[1].origin == f"{path}:export/bob.zip" and list(found.entries[1].path.iterdir()) == []
    assert found.skipped == [f"{path}:export/bob.zip: refusing to unpack it: entry '../../evil.py' has a '..' "
                             "component; it is graded as holding no solution.py"]
    assert not list(tmp_path.rglob("evil.py"))


@pytest.mark.parametrize("kind", HOSTILE_STUDENT_ZIPS)
def test_a_hostile_zip_given_as_a_path_still_stops_the_batch(tmp_path, kind):
    build, why = HOSTILE_STUDENT_ZIPS[kind]
    zip_path = build(tmp_path / "bob.zip")
    with pytest.raises(BatchInputError) as caught:
        find(tmp_path, write(tmp_path / "alice.py"), zip_path)
    assert str(caught.value).startswith(f"{zip_path}: {why}")
    assert unpacked(tmp_path) == []


def test_a_full_disk_while_unpacking_a_students_zip_stops_the_batch(tmp_path, monkeypatch):
    """Not the student's doing: never turned into an ungradable entry."""
    make_zip(tmp_path / "class" / "bob.zip", {"solution.py": SOLUTION})
    write(tmp_path / "class" / "alice.py")

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(discover_module, "open", full, raising=False)
    with pytest.raises(BatchInputError, match=r"bob\.zip: cannot unpack entry 'solution\.py' here: No space left on device"):
        find(tmp_path, tmp_path / "class")
    assert unpacked(tmp_path) == []


def test_a_symbolic_link_entry_is_refused(tmp_path):
    path = tmp_path / "class.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("alice.py", SOLUTION)
        link = zipfile.ZipInfo("bob.py")
        link.create_system = 3
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        archive.writestr(link, "/etc/passwd")
    with pytest.raises(BatchInputError, match=r"class\.zip: refusing to unpack it: entry 'bob\.py' is a symbolic link"):
        find(tmp_path, path)


def test_too_many_entries_are_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(discover_module, "MAX_ZIP_ENTRIES", 3)
    path = make_zip(tmp_path / "class.zip", {f"s{i}.py": SOLUTION for i in range(4)})
    with pytest.raises(BatchInputError, match=r"class\.zip: refusing to unpack it: it has 4 entries, over the limit of 3"):
        find(tmp_path, path)
    make_zip(tmp_path / "ok.zip", {f"s{i}.py": SOLUTION for i in range(3)})
    assert len(find(tmp_path, tmp_path / "ok.zip").entries) == 3


def test_too_many_bytes_in_all_are_refused_before_extracting(tmp_path, monkeypatch):
    monkeypatch.setattr(discover_module, "MAX_ZIP_TOTAL_BYTES", 100)
    path = make_zip(tmp_path / "class.zip", {"a.py": b"#" * 60, "b.py": b"#" * 60}, compression=zipfile.ZIP_STORED)
    with pytest.raises(BatchInputError, match=r"class\.zip: refusing to unpack it: its entries declare 120 bytes in all, over the limit of 100 bytes"):
        find(tmp_path, path)
    assert unpacked(tmp_path) == []


def test_a_too_large_entry_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(discover_module, "MAX_ZIP_ENTRY_BYTES", 50)
    path = make_zip(tmp_path / "class.zip", {"a.py": b"#" * 51}, compression=zipfile.ZIP_STORED)
    with pytest.raises(BatchInputError, match=r"entry 'a\.py' declares 51 bytes, over the limit of 50 bytes for one file"):
        find(tmp_path, path)


def test_a_zip_bomb_is_refused_by_its_ratio(tmp_path):
    path = make_zip(tmp_path / "class.zip", {"alice.py": SOLUTION, "bomb.py": b"\0" * (4 * 1024 * 1024)})
    with pytest.raises(BatchInputError, match=r"entry 'bomb\.py' expands from \d+ to 4194304 bytes, over the limit of 200 to 1"):
        find(tmp_path, path)
    assert unpacked(tmp_path) == []


def test_an_entry_lying_about_its_size_is_refused(tmp_path):
    """Declares 100 bytes (both headers patched) but holds 5000: only what it declares is ever read,
    and the damage is reported rather than a truncated file kept."""
    path = make_zip(tmp_path / "class.zip", {"alice.py": b"#" * 5000})
    data = bytearray(path.read_bytes())
    assert data[:4] == b"PK\x03\x04"
    struct.pack_into("<I", data, 22, 100)  # the local header's uncompressed size
    central = data.index(b"PK\x01\x02")
    struct.pack_into("<I", data, central + 24, 100)  # the central directory's
    path.write_bytes(bytes(data))
    with zipfile.ZipFile(path) as archive:
        assert archive.getinfo("alice.py").file_size == 100
    with pytest.raises(BatchInputError, match=r"class\.zip: cannot unpack entry 'alice\.py': Bad CRC-32"):
        find(tmp_path, path)
    assert unpacked(tmp_path) == []


def test_a_name_twice_in_one_zip_is_refused(tmp_path):
    path = tmp_path / "class.zip"
    with zipfile.ZipFile(path, "w") as archive, pytest.warns(UserWarning):
        archive.writestr("alice.py", SOLUTION)
        archive.writestr("alice.py", b"other")
    with pytest.raises(BatchInputError, match=r"class\.zip: refusing to unpack it: it holds 'alice\.py' twice"):
        find(tmp_path, path)


# --- ids ---------------------------------------------------------------------------------------


def class_folder(tmp_path: Path) -> Path:
    root = tmp_path / "class"
    write(root / "hw1_alice_123.py")
    write(root / "hw1_bob_456" / "solution.py")
    make_zip(root / "hw1_carol_789.zip", {"solution.py": SOLUTION})
    return root


@pytest.mark.parametrize("pattern, expected", [
    (r"_(?P<id>\d+)", ["123", "456", "789"]),  # the named group
    (r"(?P<course>hw\d)_(?P<id>[a-z]+)", ["alice", "bob", "carol"]),  # named group wins over group 1
    (r"hw1_([a-z]+)", ["alice", "bob", "carol"]),  # group 1
    (r"[a-z]+_\d+", ["alice_123", "bob_456", "carol_789"]),  # the whole match
    (r"\.(py|zip)$|_\d+$", ["py", None, "zip"]),  # searched in the name with its suffix
])
def test_id_patterns(tmp_path, pattern, expected):
    root = class_folder(tmp_path)
    if None in expected:  # the folder's name has no suffix: matched by the second branch, group 1 unset
        with pytest.raises(BatchInputError, match=r"1 of 3 names do not match the id pattern"):
            find(tmp_path, root, id_pattern=pattern)
    else:
        assert ids(find(tmp_path, root, id_pattern=pattern)) == expected


def test_names_not_matching_the_pattern_are_listed_with_their_count(tmp_path):
    root = tmp_path / "class"
    for index in range(7):
        write(root / f"student{index}.py")
    write(root / "s_42.py")
    with pytest.raises(BatchInputError) as caught:
        find(tmp_path, root, id_pattern=r"_(\d+)")
    message = str(caught.value)
    assert message.startswith(r"7 of 8 names do not match the id pattern '_(\\d+)': 'student0.py' (")
    assert "'student4.py'" in message and "'student5.py'" not in message
    assert message.endswith("(and 2 more)")


def test_a_bad_regular_expression_is_an_error(tmp_path):
    with pytest.raises(BatchInputError, match=r"the id pattern '\(unclosed' is not a valid regular expression"):
        find(tmp_path, write(tmp_path / "alice.py"), id_pattern="(unclosed")


@pytest.mark.parametrize("name, problem", [
    (".alice.py", "starts with '.'"),
    ("a\x01b.py", "contains NUL or another control character"),
    ("a\\b.py", "contains '/' or '\\'"),
    ("x" * 201 + ".py", "is longer than 200 characters"),
])
def test_ids_that_cannot_name_a_file_are_refused(tmp_path, name, problem):
    path = write(tmp_path / name)
    with pytest.raises(BatchInputError) as caught:
        find(tmp_path, path)
    assert str(caught.value).startswith(f"{path}: student id {Path(name).stem!r} {problem} (a student id names")


def test_an_empty_id_from_a_pattern_is_refused(tmp_path):
    with pytest.raises(BatchInputError, match=r"alice\.py: student id '' is empty"):
        find(tmp_path, write(tmp_path / "alice.py"), id_pattern=r"\d*")


def test_an_id_of_200_characters_is_fine(tmp_path):
    assert ids(find(tmp_path, write(tmp_path / ("x" * 200 + ".py")))) == ["x" * 200]


def test_duplicate_ids_name_both_origins(tmp_path):
    first = write(tmp_path / "a" / "alice.py")
    write(tmp_path / "b" / "alice" / "solution.py")
    with pytest.raises(BatchInputError) as caught:
        find(tmp_path, tmp_path / "a", tmp_path / "b")
    assert str(caught.value) == f"duplicate student id 'alice': {first} and {tmp_path / 'b' / 'alice' / 'solution.py'}"


def test_duplicates_ignore_case_and_are_all_reported(tmp_path):
    write(tmp_path / "a" / "Alice.py")
    write(tmp_path / "a" / "Bob.py")
    write(tmp_path / "b" / "alice.py")
    write(tmp_path / "b" / "BOB.py")
    make_zip(tmp_path / "c" / "bob.zip", {"solution.py": SOLUTION})
    with pytest.raises(BatchInputError) as caught:
        find(tmp_path, tmp_path / "a", tmp_path / "b", tmp_path / "c")
    lines = str(caught.value).splitlines()
    assert lines == [
        f"duplicate student id 'Alice' and 'alice' (ids are compared ignoring case): {tmp_path}/a/Alice.py and {tmp_path}/b/alice.py",
        f"duplicate student id 'BOB', 'Bob' and 'bob' (ids are compared ignoring case): "
        f"{tmp_path}/a/Bob.py, {tmp_path}/b/BOB.py and {tmp_path}/c/bob.zip:solution.py",
    ]


def test_at_most_ten_duplicates_are_listed(tmp_path):
    for index in range(12):
        write(tmp_path / "a" / f"s{index:02d}.py")
        write(tmp_path / "b" / f"s{index:02d}.py")
    with pytest.raises(BatchInputError) as caught:
        find(tmp_path, tmp_path / "a", tmp_path / "b")
    lines = str(caught.value).splitlines()
    assert len(lines) == 11 and lines[-1] == "... and 2 more duplicate ids"


def test_a_pattern_can_resolve_what_would_be_duplicates(tmp_path):
    write(tmp_path / "a" / "alice_1.py")
    write(tmp_path / "b" / "alice_2.py")
    assert ids(find(tmp_path, tmp_path / "a", tmp_path / "b", id_pattern=r"\d+")) == ["1", "2"]


def test_notebooks_are_found_where_the_py_file_would_be(tmp_path):
    """A code challenge accepts solution.ipynb too: as a file, in a student's folder (the .py preferred when both
    are there), and in a student's zip."""
    names = ("solution.py", "solution.ipynb")
    root = tmp_path / "class"
    write(root / "alice.ipynb", b"{}")
    write(root / "bob" / "solution.ipynb", b"{}")
    write(root / "carol" / "solution.py")
    write(root / "carol" / "solution.ipynb", b"{}")
    make_zip(root / "dave.zip", {"dave/solution.ipynb": b"{}"})
    found = discover([root], names, unpack_dir=tmp_path / "unpack")
    assert ids(found) == ["alice", "bob", "carol", "dave"]
    by_id = {entry.student_id: entry for entry in found.entries}
    assert by_id["alice"].path.name == "alice.ipynb"
    assert (by_id["dave"].path / "solution.ipynb").read_bytes() == b"{}"
    assert discover([root / "bob"], names, unpack_dir=tmp_path / "unpack2").entries[0].student_id == "bob"
