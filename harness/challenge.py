"""Challenge folders: `challenge.toml` loaded into strict pydantic models, and the files around it."""

from __future__ import annotations

import re
import tomllib
from enum import Enum
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from harness.resources import PACKAGE_PARENT, data_root

REPO_ROOT = PACKAGE_PARENT  # the folder holding the harness package (the repository in a checkout)
CHALLENGES_DIR = data_root() / "challenges"  # the repository's, or the copy bundled in an installed wheel
ID_PATTERN = r"^[a-z0-9]+(-[a-z0-9]+)*$"


class ChallengeError(Exception):
    """A challenge is missing or malformed; the message names the file and the field."""


class UnknownChallengeError(ChallengeError):
    """No challenge has that id (a usage error, not a broken challenge)."""


class Difficulty(str, Enum):
    easy = "easy"
    medium = "medium"
    hard = "hard"


class Kind(str, Enum):
    code = "code"
    quiz = "quiz"


class Limits(BaseModel):
    """What one sandboxed worker may use."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    wall_seconds: float = Field(20.0, gt=0, le=600, description="Wall-clock seconds for importing the submission, and again for each probe.")
    memory_mb: int = Field(1024, ge=128, le=16384, description="Memory in MiB, swap included.")
    cpus: float = Field(1.0, gt=0, le=8, description="CPUs the sandbox may use.")
    pids: int = Field(64, ge=8, le=4096, description="Most processes and threads at once.")
    output_kb: int = Field(1024, ge=16, le=65536, description="Most KiB the submission may print before it is stopped.")


class Rule(BaseModel):
    """A rule the statement states, enforced in the sandbox at run time and in the source text."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=ID_PATTERN, description="Short name, shown in reports.")
    description: str = Field(min_length=1, max_length=300, description="The rule as the statement says it.")
    forbid: list[str] = Field(min_length=1, description="Dotted names of torch modules, classes or functions the submission may not use.")
    source_names: list[str] = Field(default_factory=list, description="Names whose mention in the source breaks the rule too (parsed, never run).")
    gates: list[str] = Field(default_factory=list, description="Checks that fail while the rule is broken; empty means every check.")

    @model_validator(mode="after")
    def _dotted(self) -> "Rule":
        for name in self.forbid:
            if not re.fullmatch(r"torch(\.[A-Za-z_][A-Za-z0-9_]*)*", name):
                raise ValueError(f"forbid entry {name!r} is not a dotted name inside torch")
        return self


class ChallengeMeta(BaseModel):
    """The contents of `challenge.toml`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=ID_PATTERN, description="Folder name and command-line id.")
    title: str = Field(min_length=1, max_length=120)
    summary: str = Field(min_length=1, max_length=300, description="One line: what the challenge tests.")
    topic: str = Field(min_length=1, max_length=60, description="Catalog topic, such as 'weight decay'.")
    difficulty: Difficulty
    tags: list[str] = Field(default_factory=list)
    kind: Kind = Kind.code
    submission_file: str = Field("solution.py", pattern=r"^[A-Za-z0-9_]+\.(py|toml)$")
    max_score: float = Field(gt=0, description="Sum of the points of all checks.")
    limits: Limits = Field(default_factory=Limits)
    rules: list[Rule] = Field(default_factory=list, description="Rules enforced at run time; see docs/CHALLENGE_FORMAT.md.")
    pinned: list[str] = Field(default_factory=list, description="Extra dotted torch objects whose attributes the sandbox's guard pins.")

    @model_validator(mode="after")
    def _file_matches_kind(self) -> "ChallengeMeta":
        suffix = ".py" if self.kind is Kind.code else ".toml"
        if not self.submission_file.endswith(suffix):
            raise ValueError(f"submission_file of a {self.kind.value} challenge must end in {suffix}")
        return self


class Challenge:
    """A loaded challenge: its metadata and where its files are."""

    def __init__(self, root: Path, meta: ChallengeMeta) -> None:
        self.root = root
        self.meta = meta

    @property
    def id(self) -> str:
        return self.meta.id

    @property
    def statement(self) -> Path:
        return self.root / "statement.md"

    @property
    def starter(self) -> Path:
        return self.root / "starter" / self.meta.submission_file

    @property
    def public_dir(self) -> Path:
        return self.root / "public"

    @property
    def hidden_dir(self) -> Path:
        return self.root / "hidden"

    @property
    def probes(self) -> Path:
        return self.hidden_dir / "probes.py"

    @property
    def inputs(self) -> Path:
        """`hidden/inputs.py`: draws probe inputs on the trusted side (optional)."""
        return self.hidden_dir / "inputs.py"

    @property
    def module_name(self) -> str:
        return Path(self.meta.submission_file).stem

    @property
    def solutions_dir(self) -> Path:
        """`reference_solutions/<id>/`, beside the `challenges/` folder this challenge is in."""
        return self.root.parent.parent / "reference_solutions" / self.id

    @property
    def reference(self) -> Path:
        return self.solutions_dir / self.meta.submission_file

    @property
    def mutants(self) -> list[Path]:
        return sorted((self.solutions_dir / "mutants").glob("*" + Path(self.meta.submission_file).suffix))

    def required_files(self) -> list[Path]:
        files = [self.statement, self.starter, self.hidden_dir]
        files.append(self.probes if self.meta.kind is Kind.code else self.hidden_dir / "key.toml")
        return files


def load_challenge(root: Path) -> Challenge:
    """Load one challenge folder, checking its metadata and that its files are there."""
    root = root.resolve()
    toml_path = root / "challenge.toml"
    if not toml_path.is_file():
        raise ChallengeError(f"{toml_path}: no such file")
    try:
        data = tomllib.loads(toml_path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise ChallengeError(f"{toml_path}: not valid TOML: {error}") from None
    try:
        meta = ChallengeMeta.model_validate(data)
    except ValidationError as error:
        raise ChallengeError(f"{toml_path}: {_describe(error)}") from None
    if meta.id != root.name:
        raise ChallengeError(f"{toml_path}: field 'id' is {meta.id!r} but the folder is named {root.name!r}")
    challenge = Challenge(root, meta)
    for path in challenge.required_files():
        if not path.exists():
            raise ChallengeError(f"{root}: missing {path.relative_to(root)}")
    return challenge


def _describe(error: ValidationError) -> str:
    parts = []
    for item in error.errors():
        field = ".".join(str(part) for part in item["loc"]) or "(top level)"
        parts.append(f"field '{field}': {item['msg']}")
    return "; ".join(parts)


def find_challenge(challenge_id: str, base: Path = CHALLENGES_DIR) -> Challenge:
    """Find a challenge by id under `base`."""
    if not re.match(ID_PATTERN, challenge_id):
        raise UnknownChallengeError(f"{challenge_id!r} is not a challenge id (lower-case words joined by '-')")
    root = base / challenge_id
    if not root.is_dir():
        known = ", ".join(path.name for path in sorted(base.iterdir()) if (path / "challenge.toml").is_file())
        raise UnknownChallengeError(f"no challenge named {challenge_id!r}; known: {known or 'none'}")
    return load_challenge(root)


def all_challenges(base: Path = CHALLENGES_DIR) -> list[Challenge]:
    """Every challenge under `base`, sorted by id."""
    return [load_challenge(path) for path in sorted(base.iterdir()) if (path / "challenge.toml").is_file()]
