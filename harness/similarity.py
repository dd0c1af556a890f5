"""Similar submissions: the pairs of a class whose code is suspiciously alike, the challenge's starter code left out.

How two submissions are compared (winnowing, as MOSS does it; Schleimer, Wilkerson and Aiken, SIGMOD 2003):

1. Each submission's code (a notebook's: the module made from its code cells, `harness.notebook`) is cut into
   Python tokens with the standard `tokenize` module. Comments, docstrings (a statement that is only a string),
   blank lines and line breaks inside brackets are dropped; every identifier that is not a keyword or a builtin
   becomes `V` and every string `S`. So renaming variables, functions and attributes, reformatting, and
   rewording comments or strings change nothing; the structure, the operators, keywords, builtins and numbers
   remain.
2. Every run of K_TOKENS consecutive tokens is hashed (blake2b: the same on every machine and every run).
   Hashes also found in the starter code are dropped: code every student was given is no evidence.
3. The hashes are winnowed (copydetect's robust winnowing, window WINDOW): any run of K_TOKENS + WINDOW - 1
   tokens two submissions share yields at least one shared fingerprint.
4. A pair's similarity is the share of the smaller submission's fingerprints found in the other one (the larger
   of the two shares): a student who copied a classmate's whole file and added to it is still caught. Both
   shares are listed. A submission with fewer than MIN_FINGERPRINTS fingerprints of its own (the starter handed
   in untouched, a few lines) is too short to judge and is never paired.

Why copydetect's own pipeline is not used whole: its `CopyDetector` walks folders of files, prints progress and
writes an HTML report; its `CodeFingerprint` hashes k-grams with Python's `hash()`, salted afresh in every
process, so the same two files scored 0.89, 0.90 and 0.90 with 0.91, 0.91 and 0.93 on three runs; and its
pygments filter counts characters, not tokens. Its winnowing (`copydetect.utils.winnow`) is what is used here.

A high score is a reason to read the two files side by side, never proof: short challenges with one natural
solution make honest submissions alike too, which is why the threshold is an option.
"""

from __future__ import annotations

import builtins
import hashlib
import io
import keyword
import tokenize
from dataclasses import dataclass, field
from itertools import combinations
from pathlib import Path
from typing import Mapping, Sequence

K_TOKENS = 12  # tokens in a k-gram: shorter runs (a typical line) are common to any two solutions
WINDOW = 4  # winnowing window: a shared run of K_TOKENS + WINDOW - 1 = 15 tokens always shows
MIN_FINGERPRINTS = 8  # fingerprints a submission needs, beyond the starter's, to be compared at all
DEFAULT_THRESHOLD = 0.5  # pairs sharing at least this share of the smaller one's fingerprints are listed
MAX_SOURCE_BYTES = 512 * 1024  # as harness.submission.MAX_SUBMISSION_BYTES: a kept source larger than that is refused

_BUILTINS = frozenset(dir(builtins))
_DROPPED = frozenset({tokenize.COMMENT, tokenize.NL, tokenize.ENCODING, tokenize.ENDMARKER, tokenize.TYPE_COMMENT})


class SimilarityError(Exception):
    """The submissions to compare cannot be read as given; the message names the path and what is wrong."""


@dataclass(frozen=True)
class Pair:
    """Two submissions that are alike: `similarity` is the larger of `share_a` (the share of a's fingerprints
    found in b) and `share_b`, each from 0 to 1; `shared` counts the fingerprints they have in common."""

    a: str
    b: str
    similarity: float
    share_a: float
    share_b: float
    shared: int


@dataclass
class Comparison:
    """What `compare` found: pairs at or above the threshold, most alike first, and what it could not compare."""

    pairs: list[Pair] = field(default_factory=list)
    compared: int = 0  # submissions with enough code of their own to be compared
    too_short: list[str] = field(default_factory=list)  # ids with fewer than MIN_FINGERPRINTS of their own
    unreadable: list[str] = field(default_factory=list)  # "id: why" for code that could not be tokenized
    threshold: float = DEFAULT_THRESHOLD


def normalized_tokens(source: str) -> list[str]:
    """The code's tokens as compared: no comments, docstrings or layout; identifiers `V`, strings `S`.
    SyntaxError (with the line) when the text is not Python that `tokenize` can read."""
    tokens: list[str] = []
    line: list[tuple[int, str]] = []  # the current logical line: (token type, normalized text)
    try:
        for token in tokenize.generate_tokens(io.StringIO(source).readline):
            if token.type in _DROPPED or (token.type == tokenize.ERRORTOKEN and not token.string.strip()):
                continue
            if token.type == tokenize.NEWLINE:
                if not all(kind == tokenize.STRING for kind, _ in line):  # a docstring is a comment
                    tokens.extend(text for _, text in line)
                    tokens.append(";")
                line = []
            elif token.type in (tokenize.INDENT, tokenize.DEDENT):
                tokens.append("{" if token.type == tokenize.INDENT else "}")
            else:
                line.append((token.type, _normalize(token)))
    except tokenize.TokenError as error:  # ("EOF in multi-line string", (line, column))
        where = error.args[1] if len(error.args) > 1 and isinstance(error.args[1], tuple) else None
        raise SyntaxError(f"cannot be read as Python tokens: {error.args[0]}"
                          + (f" (line {where[0]})" if where else "")) from None
    except SyntaxError as error:  # an IndentationError
        raise SyntaxError(f"cannot be read as Python tokens: {error.msg}"
                          + (f" (line {error.lineno})" if error.lineno else "")) from None
    if line and not all(kind == tokenize.STRING for kind, _ in line):
        tokens.extend(text for _, text in line)
    return tokens


def _normalize(token: tokenize.TokenInfo) -> str:
    if token.type == tokenize.NAME:
        text = token.string
        return text if keyword.iskeyword(text) or keyword.issoftkeyword(text) or text in _BUILTINS else "V"
    if token.type == tokenize.STRING:
        return "S"
    return token.string


def kgram_hashes(tokens: Sequence[str], k: int = K_TOKENS) -> list[int]:
    """A stable signed 64-bit hash of every run of `k` consecutive tokens, in order."""
    hashes = []
    for start in range(len(tokens) - k + 1):
        digest = hashlib.blake2b("\x1f".join(tokens[start:start + k]).encode("utf-8"), digest_size=8).digest()
        hashes.append(int.from_bytes(digest, "big", signed=True))
    return hashes


def fingerprints(source: str, boilerplate: frozenset[int] = frozenset()) -> frozenset[int]:
    """The winnowed fingerprints of `source`, those in `boilerplate` (the starter's k-gram hashes) left out."""
    hashes = [value for value in kgram_hashes(normalized_tokens(source)) if value not in boilerplate]
    if not hashes:
        return frozenset()
    import numpy as np
    from copydetect.utils import winnow  # type: ignore[import-untyped]  # no type information shipped

    selected, _ = winnow(np.array(hashes, dtype=np.int64), WINDOW)
    return frozenset(int(value) for value in selected)


def boilerplate_of(starter: str | None) -> frozenset[int]:
    """Every k-gram hash of the starter code (not only the winnowed ones: any run of it is boilerplate).
    A starter that cannot be tokenized gives none."""
    if not starter:
        return frozenset()
    try:
        return frozenset(kgram_hashes(normalized_tokens(starter)))
    except SyntaxError:
        return frozenset()


def compare(sources: Mapping[str, str], *, starter: str | None = None,
            threshold: float = DEFAULT_THRESHOLD) -> Comparison:
    """Compare every two of `sources` ({student id: code}); the pairs at or above `threshold`, most alike first
    (ties by ids). The starter's code is left out of every submission."""
    if not 0.0 <= threshold <= 1.0:
        raise ValueError(f"the threshold must be between 0 and 1, not {threshold}")
    boilerplate = boilerplate_of(starter)
    result = Comparison(threshold=threshold)
    prints: dict[str, frozenset[int]] = {}
    for student_id in sorted(sources):
        try:
            found = fingerprints(sources[student_id], boilerplate)
        except SyntaxError as error:
            result.unreadable.append(f"{student_id}: {error.msg}")
            continue
        if len(found) < MIN_FINGERPRINTS:
            result.too_short.append(student_id)
        else:
            prints[student_id] = found
    result.compared = len(prints)
    for a, b in combinations(sorted(prints), 2):
        shared = len(prints[a] & prints[b])
        if not shared:
            continue
        share_a, share_b = shared / len(prints[a]), shared / len(prints[b])
        similarity = max(share_a, share_b)
        if similarity >= threshold:
            result.pairs.append(Pair(a, b, similarity, share_a, share_b, shared))
    result.pairs.sort(key=lambda pair: (-pair.similarity, pair.a, pair.b))
    return result


# --- reading a class's code -------------------------------------------------------------------------------


def read_kept_sources(folder: Path) -> tuple[dict[str, str], list[str]]:
    """The sources a batch kept (`<id>.py` in `folder`, see harness.batch.store.keep_sources): {id: code}, and
    notes naming the files that were skipped and why."""
    sources: dict[str, str] = {}
    notes: list[str] = []
    try:
        files = sorted(folder.iterdir(), key=lambda path: path.name)
    except OSError as error:
        raise SimilarityError(f"{folder}: cannot be listed: {error.strerror or error}") from None
    for path in files:
        if path.name.startswith("."):
            continue
        if path.is_symlink() or not path.is_file() or path.suffix != ".py":
            notes.append(f"{path}: not a kept source (<id>.py), skipped")
            continue
        try:
            data = path.read_bytes()[: MAX_SOURCE_BYTES + 1]
        except OSError as error:
            notes.append(f"{path}: cannot be read ({error.strerror or error}), skipped")
            continue
        if len(data) > MAX_SOURCE_BYTES:
            notes.append(f"{path}: larger than {MAX_SOURCE_BYTES // 1024} KiB, skipped")
            continue
        try:
            sources[path.stem] = data.decode("utf-8")
        except UnicodeDecodeError as error:
            notes.append(f"{path}: not UTF-8 text (byte {error.start}), skipped")
    return sources, notes


def kept_class_sources(out_dir: Path) -> tuple[dict[str, str], str | None, list[str]] | None:
    """What a batch's --out folder kept for comparison (harness.batch.store.keep_sources): the sources, the
    starter's code (None when it was not kept) and notes on skipped files; None when nothing was kept."""
    from harness.batch.store import SOURCES_DIR, STARTER_SOURCE

    folder = out_dir / SOURCES_DIR
    if not folder.is_dir():
        return None
    sources, notes = read_kept_sources(folder)
    starter: str | None = None
    try:
        starter = (folder / STARTER_SOURCE).read_bytes()[:MAX_SOURCE_BYTES].decode("utf-8", errors="replace")
    except FileNotFoundError:
        pass
    except OSError as error:
        notes.append(f"{folder / STARTER_SOURCE}: cannot be read ({error.strerror or error}); the starter is not "
                     "left out")
    return sources, starter, notes


def percent(share: float) -> str:
    """A share as a whole percent, for tables: 0.874 -> '87%'."""
    return f"{100 * share:.0f}%"


__all__ = ["Comparison", "Pair", "SimilarityError", "compare", "fingerprints", "kept_class_sources",
           "normalized_tokens", "read_kept_sources", "DEFAULT_THRESHOLD"]
