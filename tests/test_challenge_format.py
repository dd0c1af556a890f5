"""Loading challenge folders: valid ones load, malformed ones name the file and the field."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from harness.challenge import ChallengeError, Kind, all_challenges, find_challenge, load_challenge

from conftest import CATALOG

TINY = CATALOG / "challenges" / "tiny-scale"


def copy_tiny(tmp_path: Path) -> Path:
    root = tmp_path / "challenges" / "tiny-scale"
    shutil.copytree(TINY, root)
    return root


def test_tiny_challenge_loads_with_its_limits(tiny):
    assert tiny.id == "tiny-scale" and tiny.meta.kind is Kind.code
    assert tiny.meta.limits.wall_seconds == 8 and tiny.meta.limits.memory_mb == 768
    assert tiny.reference.is_file() and [path.name for path in tiny.mutants] == ["identity.py"]


@pytest.mark.parametrize("edit, field", [
    (lambda text: text.replace('difficulty = "easy"', 'difficulty = "trivial"'), "difficulty"),
    (lambda text: 'colour = "blue"\n' + text, "colour"),
    (lambda text: text.replace("max_score = 3\n", ""), "max_score"),
    (lambda text: text.replace("wall_seconds = 8", "wall_seconds = -1"), "limits.wall_seconds"),
    (lambda text: text.replace('submission_file = "solution.py"', 'submission_file = "../x.py"'), "submission_file"),
])
def test_malformed_metadata_names_file_and_field(tmp_path, edit, field):
    root = copy_tiny(tmp_path)
    toml = root / "challenge.toml"
    toml.write_text(edit(toml.read_text()))
    with pytest.raises(ChallengeError) as caught:
        load_challenge(root)
    assert str(toml) in str(caught.value) and f"field '{field}'" in str(caught.value)


def test_invalid_toml_is_reported_with_the_file(tmp_path):
    root = copy_tiny(tmp_path)
    (root / "challenge.toml").write_text("id = \n")
    with pytest.raises(ChallengeError, match="challenge.toml: not valid TOML"):
        load_challenge(root)


def test_id_must_match_folder(tmp_path):
    root = copy_tiny(tmp_path)
    root = root.rename(root.parent / "other-name")
    with pytest.raises(ChallengeError, match="field 'id' is 'tiny-scale' but the folder is named 'other-name'"):
        load_challenge(root)


def test_missing_probes_file_is_named(tmp_path):
    root = copy_tiny(tmp_path)
    (root / "hidden" / "probes.py").unlink()
    with pytest.raises(ChallengeError, match="missing hidden/probes.py"):
        load_challenge(root)


def test_unknown_id_lists_the_known_ones():
    with pytest.raises(ChallengeError, match="no challenge named 'nope'; known: .*cosine-annealing-tmax"):
        find_challenge("nope")
    with pytest.raises(ChallengeError, match="not a challenge id"):
        find_challenge("../etc")


def test_the_whole_catalog_loads():
    ids = [challenge.id for challenge in all_challenges()]
    assert {"weight-decay-exclude-bias", "cosine-annealing-tmax"} <= set(ids)
