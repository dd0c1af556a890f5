"""Which submissions a batch grades, and each one's student id, found before anything is graded.

The rules, with `solution.py` standing for the challenge's submission file (`answers.toml` for a
quiz, whose suffix is then `.toml`):

- A PATH that is a `.py` file is one submission; its id is the file's stem (`alice.py` -> `alice`).
  A file named exactly `solution.py` takes its folder's name instead (`class/alice/solution.py`
  -> `alice`), so that `class/*/solution.py` works.
- A PATH that is a folder directly holding `solution.py` is one submission; its id is the
  folder's name.
- A PATH that is a `.zip` is unpacked into a fresh folder and then treated like a folder: one
  submission (id: the zip's stem) when `solution.py` is at its top; otherwise a folder of
  submissions, after descending into its single top-level folder when it has exactly one and that
  folder does not hold `solution.py` (LMS exports wrap everything in one folder).
- Any other folder is a folder of submissions, searched one level deep, its children in order of
  name: a `.py` file is a submission (id: its stem); a folder holding `solution.py` is a
  submission (id: its name); a `.zip` is a submission (id: its stem) whose `solution.py` is
  taken from its top or from inside its single top-level folder (only that file is extracted);
  anything else, symbolic links included (never followed), is skipped with a note saying why.
  Names starting with `.`, `__MACOSX` and `__pycache__` are skipped silently.
- Such a student's `.zip` never stops the batch: it is that student's upload, not the teacher's
  input. When it holds no `solution.py` where one is looked for, the student's entry is a fresh
  empty folder named like the zip, so grading reports the submission ungradable ("the folder
  .../bob.zip has no solution.py"), with no note. When it is refused (see below), damaged, or not a zip at all, the
  student's entry is likewise a fresh empty folder, and a note in `skipped` names the zip and the
  refusal. Only a failure to write the unpacked file on this machine (disk full, read-only, I/O
  error) still stops the batch: it is not the student's doing.
- A PATH that does not exist, or is a file other than a `.py` or a `.zip`, is an error. So is a
  `.zip` given as a PATH (and the zip of a folder of submissions given that way) that is refused,
  damaged or not a zip: it is the teacher's own input.
- Submissions come in the order of the PATHs given, then of names within folders.
- `id_pattern` is a regular expression searched in the name the id would come from (the file
  name with its suffix, the folder's name, the zip's name): the id is its group `id`, else its
  first group, else the whole match. Every such name must match.
- An id must be usable as a file name: not empty, no `/`, `\\`, NUL or other control
  character, not starting with `.`, at most 200 characters. No two ids may be equal ignoring case.
- Zips are hostile input. One is refused whole when an entry has an absolute name or a `..`
  component, is a symbolic link or special file, declares more than 64 MiB, or compresses more
  than 200 to 1; when it holds one name twice; when it has more than 10,000 entries or declares
  more than 512 MiB in all; or when an entry is damaged, encrypted, or yields other bytes than it
  declares. Sizes are checked before extracting and the bytes counted while extracting. Nothing
  of a refused zip is left unpacked; a file that is not a zip is named as such.
"""

from __future__ import annotations

import errno
import os
import re
import shutil
import stat
import tempfile
import unicodedata
import zipfile
import zlib
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

MAX_ZIP_ENTRIES = 10_000
MAX_ZIP_TOTAL_BYTES = 512 * 1024 * 1024
MAX_ZIP_ENTRY_BYTES = 64 * 1024 * 1024
MAX_ZIP_RATIO = 200
MAX_ID_CHARS = 200
MAX_LISTED = 5  # names listed in one error message
MAX_DUPLICATES_LISTED = 10
JUNK_NAMES = frozenset({"__MACOSX", "__pycache__"})
ZIP_SUFFIX = ".zip"
_CHUNK = 1024 * 1024
# Errors zipfile raises on damaged, encrypted or unsupported archives besides BadZipFile.
_ZIP_ERRORS = (zipfile.BadZipFile, zlib.error, OSError, EOFError, ValueError, RuntimeError, NotImplementedError)
# Errors writing the unpacked files that are this machine's, whatever the zip holds: never blamed on the zip.
_OWN_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EIO})


class BatchInputError(Exception):
    """The batch's input cannot be used as given; the message names the file(s) and what is wrong."""


class _ZipFault(BatchInputError):
    """The zip itself is at fault: refused as hostile, damaged, or not a zip. Stops the batch for a zip
    given as a PATH; a student's zip in a folder of submissions gets an empty entry and a note instead."""


class _NoSubmissionFile(_ZipFault):
    """A student's zip holds no submission file where one is looked for."""


@dataclass(frozen=True)
class Entry:
    """One submission to grade."""

    student_id: str
    path: Path  # a submission file, or a folder holding the challenge's submission file
    origin: str  # how the user recognises it: the path given, or "class.zip:alice/solution.py"


@dataclass
class Discovery:
    """What `discover` found: the submissions, and notes on what it passed over and why."""

    entries: list[Entry] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Candidate:
    """A submission before its id is settled: `name` is what an id pattern is searched in."""

    name: str
    default_id: str
    path: Path
    origin: str


def discover(paths: Sequence[Path], submission_file: str | Sequence[str], *, id_pattern: str | None = None,
             unpack_dir: Path) -> Discovery:
    """Find every submission under `paths` and give each a unique student id, unpacking zips into
    `unpack_dir`; every problem is raised here, before anything is graded. `submission_file` may name
    several accepted files, first preferred (`solution.py`, then the notebook `solution.ipynb`)."""
    names = (submission_file,) if isinstance(submission_file, str) else tuple(submission_file)
    submission_file = names[0]
    pattern = _compile(id_pattern)
    walker = _Walker(names, unpack_dir)
    for path in paths:
        walker.add_path(Path(path))
    entries = _assign_ids(walker.candidates, pattern)
    _check_duplicates(entries)
    if not entries:
        raise BatchInputError(_nothing_found(paths, submission_file, walker.skipped))
    return Discovery(entries=entries, skipped=walker.skipped)


def id_problem(student_id: str) -> str | None:
    """Why `student_id` cannot name a report file (`reports/<id>.json`), or None when it can."""
    if not student_id:
        return "is empty"
    if "/" in student_id or "\\" in student_id:
        return "contains '/' or '\\'"
    if any(unicodedata.category(char) == "Cc" for char in student_id):
        return "contains NUL or another control character"
    if student_id.startswith("."):
        return "starts with '.'"
    if len(student_id) > MAX_ID_CHARS:
        return f"is longer than {MAX_ID_CHARS} characters"
    return None


def _is_junk(name: str) -> bool:
    """Hidden files and the folders archivers and Python leave behind: never submissions, never worth a note."""
    return name.startswith(".") or name in JUNK_NAMES


def _is_zip(path: Path) -> bool:
    return path.suffix.lower() == ZIP_SUFFIX


class _Walker:
    """Collects candidates and skip notes from the PATHs, in order."""

    def __init__(self, names: tuple[str, ...], unpack_dir: Path) -> None:
        self.names = names
        self.submission_file = names[0]
        self.suffix = Path(names[0]).suffix
        self.suffixes = {Path(name).suffix for name in names}
        self.unpack_dir = unpack_dir
        self.candidates: list[_Candidate] = []
        self.skipped: list[str] = []

    def holds(self, folder: Path) -> bool:
        """Whether `folder` has an entry named like the submission file (a symbolic link counts, so that
        grading can tell the student it is one rather than the student going missing)."""
        return any((folder / name).is_symlink() or (folder / name).is_file() for name in self.names)

    def add_path(self, path: Path) -> None:
        """One PATH from the command line (followed if it is a symbolic link: the user named it)."""
        if not path.exists():
            raise BatchInputError(f"{path}: no such file or folder")
        origin = str(path)
        if path.is_dir():
            self._add_folder(path, origin, Path(os.path.abspath(path)).name)
        elif not path.is_file():
            raise BatchInputError(f"{path}: not a regular file or folder")
        elif path.name in self.names:
            folder_name = Path(os.path.abspath(path)).parent.name
            self.candidates.append(_Candidate(folder_name, folder_name, path, origin))
        elif path.suffix in self.suffixes:
            self.candidates.append(_Candidate(path.name, path.stem, path, origin))
        elif _is_zip(path):
            self._add_zip(path, origin)
        else:
            raise BatchInputError(f"{path}: not a {self.suffix} file, a .zip or a folder, so it cannot be graded")

    def _add_folder(self, folder: Path, origin: str, name: str) -> None:
        if self.holds(folder):
            self.candidates.append(_Candidate(name, name, folder, os.path.join(origin, self.submission_file)))
        else:
            self._add_children(folder, os.path.join(origin, ""), origin)

    def _add_zip(self, path: Path, origin: str) -> None:
        """A zip PATH: unpacked whole, then one submission or a folder of them (through one wrapper folder)."""
        root = self._fresh_dir()
        _unpack_all(path, origin, root)
        if self.holds(root):
            self.candidates.append(_Candidate(path.name, path.stem, root, f"{origin}:{self.submission_file}"))
            return
        prefix = f"{origin}:"
        children = [child for child in root.iterdir() if not _is_junk(child.name)]
        if len(children) == 1 and children[0].is_dir() and not self.holds(children[0]):
            root, prefix = children[0], f"{prefix}{children[0].name}/"
        self._add_children(root, prefix, origin)

    def _add_children(self, folder: Path, prefix: str, origin: str) -> None:
        """A folder of submissions, one level deep; `prefix` + a child's name is the child's origin."""
        try:
            children = sorted(folder.iterdir(), key=lambda child: child.name)
        except OSError as error:
            raise BatchInputError(f"{origin}: cannot list the folder: {error.strerror or error}") from None
        before = len(self.candidates)
        for child in children:
            if not _is_junk(child.name):
                self._add_child(child, prefix + child.name)
        if len(self.candidates) == before:
            self.skipped.append(f"{origin}: no submissions in this folder")

    def _add_child(self, child: Path, origin: str) -> None:
        name = child.name
        if child.is_symlink():
            self.skipped.append(f"{origin}: a symbolic link (not followed)")
        elif child.is_dir():
            if self.holds(child):
                self.candidates.append(_Candidate(name, name, child, f"{origin}/{self.submission_file}"))
            else:
                self.skipped.append(f"{origin}/: a folder without {self.submission_file} (only one level is searched)")
        elif not child.is_file():
            self.skipped.append(f"{origin}: not a regular file or folder")
        elif child.suffix in self.suffixes:
            self.candidates.append(_Candidate(name, child.stem, child, origin))
        elif _is_zip(child):
            self._add_student_zip(child, origin)
        else:
            self.skipped.append(f"{origin}: not a {self.suffix} file, a .zip, or a folder holding {self.submission_file}")

    def _add_student_zip(self, path: Path, origin: str) -> None:
        """One student's zip inside a folder of submissions: only its submission file is extracted. A zip
        without it, or one that is refused, damaged or not a zip, still makes an entry: an empty folder."""
        dest = self._fresh_dir()
        try:
            member = _unpack_submission(path, origin, dest, self.names)
        except _NoSubmissionFile:
            self.candidates.append(_Candidate(path.name, path.stem, self._empty_dir(path.name), origin))
        except _ZipFault as fault:
            self.skipped.append(f"{fault}; it is graded as holding no {self.submission_file}")
            self.candidates.append(_Candidate(path.name, path.stem, self._empty_dir(path.name), origin))
        else:
            self.candidates.append(_Candidate(path.name, path.stem, dest, f"{origin}:{member}"))

    def _empty_dir(self, name: str) -> Path:
        """A fresh empty folder named `name` (the zip's name, so that the report's "the folder .../bob.zip has
        no solution.py" says which zip it was)."""
        folder = self._fresh_dir() / name
        folder.mkdir()
        return folder

    def _fresh_dir(self) -> Path:
        self.unpack_dir.mkdir(parents=True, exist_ok=True)
        return Path(tempfile.mkdtemp(prefix="zip-", dir=self.unpack_dir))


# --- unpacking ---------------------------------------------------------------------------------


@dataclass
class _Budget:
    """Bytes actually written from one zip, against the zip's total limit."""

    written: int = 0


@contextmanager
def _removed_on_failure(dest: Path) -> Iterator[None]:
    """A refused or broken zip leaves nothing half-unpacked behind."""
    try:
        yield
    except BaseException:
        shutil.rmtree(dest, ignore_errors=True)
        raise


def _unpack_all(path: Path, origin: str, dest: Path) -> None:
    """Check every entry of the zip at `path`, then extract them all into `dest`."""
    with _removed_on_failure(dest), _open_zip(path, origin) as archive:
        members = _checked_members(archive, origin)
        budget = _Budget()
        for info, parts in members:
            if not parts:
                continue
            target = dest.joinpath(*parts)
            if info.is_dir():
                _guarded(origin, info, partial(target.mkdir, parents=True, exist_ok=True))
            else:
                _extract(archive, info, target, origin, budget)


def _unpack_submission(path: Path, origin: str, dest: Path, names: tuple[str, ...]) -> str:
    """Check every entry of a student's zip, then extract only its submission file (the first of `names` it
    holds), as `dest/<that name>`. Returns the entry's name inside the zip."""
    with _removed_on_failure(dest), _open_zip(path, origin) as archive:
        members = _checked_members(archive, origin)
        for name in names:
            try:
                info = _find_submission(members, name, origin)
            except _NoSubmissionFile:
                if name == names[-1]:
                    raise
                continue
            _extract(archive, info, dest / name, origin, _Budget())
            return info.filename
        raise _NoSubmissionFile(f"{origin}: no {names[0]}")


def _open_zip(path: Path, origin: str) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(path)
    except _ZIP_ERRORS as error:
        raise _ZipFault(f"{origin}: not a valid zip file ({error})") from None


def _refuse(origin: str, why: str) -> _ZipFault:
    return _ZipFault(f"{origin}: refusing to unpack it: {why}")


def _size(count: int) -> str:
    mib = 1024 * 1024
    return f"{count // mib} MiB" if count >= mib and count % mib == 0 else f"{count} bytes"


def _checked_members(archive: zipfile.ZipFile, origin: str) -> list[tuple[zipfile.ZipInfo, tuple[str, ...]]]:
    """Every entry with its path components, after refusing anything hostile; nothing is extracted yet."""
    infos = archive.infolist()
    if len(infos) > MAX_ZIP_ENTRIES:
        raise _refuse(origin, f"it has {len(infos)} entries, over the limit of {MAX_ZIP_ENTRIES}")
    total, seen, members = 0, set(), []
    for info in infos:
        problem = _member_problem(info)
        if problem:
            raise _refuse(origin, f"entry {info.filename!r} {problem}")
        parts = tuple(part for part in re.split(r"[/\\]", info.filename) if part not in ("", "."))
        if not info.is_dir():
            if parts in seen:
                raise _refuse(origin, f"it holds {info.filename!r} twice")
            seen.add(parts)
            total += info.file_size
        members.append((info, parts))
    if total > MAX_ZIP_TOTAL_BYTES:
        raise _refuse(origin, f"its entries declare {total} bytes in all, over the limit of {_size(MAX_ZIP_TOTAL_BYTES)}")
    return members


def _member_problem(info: zipfile.ZipInfo) -> str | None:
    """Why this entry must not be extracted, as the end of a sentence starting with its name; or None."""
    name = info.filename
    if name.startswith(("/", "\\")) or re.match(r"[A-Za-z]:", name):
        return "has an absolute name"
    if ".." in re.split(r"[/\\]", name):
        return "has a '..' component"
    kind = stat.S_IFMT(info.external_attr >> 16)
    if kind == stat.S_IFLNK:
        return "is a symbolic link"
    if kind not in (0, stat.S_IFREG, stat.S_IFDIR):
        return "is not a regular file or folder"
    if info.file_size > MAX_ZIP_ENTRY_BYTES:
        return f"declares {info.file_size} bytes, over the limit of {_size(MAX_ZIP_ENTRY_BYTES)} for one file"
    if info.file_size > MAX_ZIP_RATIO * info.compress_size:
        return (f"expands from {info.compress_size} to {info.file_size} bytes, over the limit of "
                f"{MAX_ZIP_RATIO} to 1 (a zip bomb?)")
    return None


def _find_submission(members: list[tuple[zipfile.ZipInfo, tuple[str, ...]]], submission_file: str,
                     origin: str) -> zipfile.ZipInfo:
    """The submission file in a student's zip: at its top, else inside its single top-level folder."""
    files = {parts: info for info, parts in members if not info.is_dir()}
    if (submission_file,) in files:
        return files[(submission_file,)]
    tops = {parts[0] for _, parts in members if parts and not _is_junk(parts[0])}
    if len(tops) == 1:
        (top,) = tops
        if (top, submission_file) in files:
            return files[(top, submission_file)]
    raise _NoSubmissionFile(f"{origin}: no {submission_file} at its top or inside a single top-level folder")


def _guarded(origin: str, info: zipfile.ZipInfo, action: Callable[[], object]) -> None:
    """Run `action`, turning the errors of a damaged zip or a clash of names into a _ZipFault, and those of this
    machine's disk (full, read-only, failing) into a plain BatchInputError."""
    try:
        action()
    except OSError as error:
        if error.errno in _OWN_ERRNOS:
            raise BatchInputError(f"{origin}: cannot unpack entry {info.filename!r} here: "
                                  f"{error.strerror or error}") from None
        raise _ZipFault(f"{origin}: cannot unpack entry {info.filename!r}: {error}") from None
    except _ZIP_ERRORS as error:
        raise _ZipFault(f"{origin}: cannot unpack entry {info.filename!r}: {error}") from None


def _extract(archive: zipfile.ZipFile, info: zipfile.ZipInfo, target: Path, origin: str, budget: _Budget) -> None:
    """Copy one entry, counting the bytes as they come: declared sizes can lie."""
    def copy() -> None:
        target.parent.mkdir(parents=True, exist_ok=True)
        written = 0
        with archive.open(info) as source, open(target, "xb") as sink:
            while chunk := source.read(_CHUNK):
                written += len(chunk)
                budget.written += len(chunk)
                if written > info.file_size:
                    raise _refuse(origin, f"entry {info.filename!r} holds more than the {info.file_size} bytes it declares")
                if budget.written > MAX_ZIP_TOTAL_BYTES:
                    raise _refuse(origin, f"its entries hold more than {_size(MAX_ZIP_TOTAL_BYTES)} in all")
                sink.write(chunk)

    _guarded(origin, info, copy)


# --- ids ---------------------------------------------------------------------------------------


def _compile(id_pattern: str | None) -> re.Pattern[str] | None:
    if id_pattern is None:
        return None
    try:
        return re.compile(id_pattern)
    except re.error as error:
        raise BatchInputError(f"the id pattern {id_pattern!r} is not a valid regular expression: {error}") from None


def _match_id(pattern: re.Pattern[str], name: str) -> str | None:
    """The id the pattern finds in `name`: group `id`, else group 1, else the whole match; None if none."""
    match = pattern.search(name)
    if match is None:
        return None
    if "id" in pattern.groupindex:
        return match.group("id")
    return match.group(1) if pattern.groups else match.group(0)


def _listing(items: list[str], separator: str = ", ") -> str:
    shown = separator.join(items[:MAX_LISTED])
    return shown + (f" (and {len(items) - MAX_LISTED} more)" if len(items) > MAX_LISTED else "")


def _assign_ids(candidates: list[_Candidate], pattern: re.Pattern[str] | None) -> list[Entry]:
    """Each candidate's id, from the pattern or by default; every id must be usable as a file name."""
    entries, unmatched = [], []
    for candidate in candidates:
        student_id = candidate.default_id if pattern is None else _match_id(pattern, candidate.name)
        if student_id is None:
            unmatched.append(f"{candidate.name!r} ({candidate.origin})")
        else:
            entries.append(Entry(student_id=student_id, path=candidate.path, origin=candidate.origin))
    if unmatched and pattern is not None:
        raise BatchInputError(f"{len(unmatched)} of {len(candidates)} names do not match the id pattern "
                              f"{pattern.pattern!r}: {_listing(unmatched)}")
    bad = [f"{entry.origin}: student id {entry.student_id!r} {problem}"
           for entry in entries if (problem := id_problem(entry.student_id))]
    if bad:
        raise BatchInputError(f"{_listing(bad, '; ')} (a student id names its report file: rename the "
                              "submission, or give an id pattern)")
    return entries


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _check_duplicates(entries: list[Entry]) -> None:
    """Ids equal ignoring case would share a report file (on some systems) and a row: refuse them all at once."""
    groups: dict[str, list[Entry]] = {}
    for entry in entries:
        groups.setdefault(entry.student_id.casefold(), []).append(entry)
    clashes = [group for group in groups.values() if len(group) > 1]
    if not clashes:
        return
    lines = []
    for group in clashes[:MAX_DUPLICATES_LISTED]:
        ids = sorted({entry.student_id for entry in group})
        shown = repr(ids[0]) if len(ids) == 1 else _and([repr(i) for i in ids]) + " (ids are compared ignoring case)"
        lines.append(f"duplicate student id {shown}: {_and([entry.origin for entry in group])}")
    if len(clashes) > MAX_DUPLICATES_LISTED:
        lines.append(f"... and {len(clashes) - MAX_DUPLICATES_LISTED} more duplicate ids")
    raise BatchInputError("\n".join(lines))


def _nothing_found(paths: Sequence[Path], submission_file: str, skipped: list[str]) -> str:
    suffix = Path(submission_file).suffix
    searched = ", ".join(str(path) for path in paths) or "(no paths given)"
    text = (f"no submission found in {searched}: looked for {suffix} files, folders holding {submission_file}, "
            f"and .zip files holding {submission_file}")
    if skipped:
        text += f"; skipped {len(skipped)}: " + "; ".join(skipped[:3]) + ("; ..." if len(skipped) > 3 else "")
    return text
