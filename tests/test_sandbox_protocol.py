"""The sandbox's trust boundary, through each real backend, on the `tiny-grad` fixture challenge.

Inputs are drawn on the trusted side and the run's seed never enters the sandbox; the probes
never exist there as a file; torch objects the probes compute with are guarded; rules hold at
run time; a later stage runs in a fresh process; the candidate sees only the submission's own
frames. Each test uses a submission that would score more if the defence it tests were missing.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from conftest import CATALOG
from harness.challenge import load_challenge
from harness.grader import grade
from harness.report import CheckStatus, Report, RunStatus, for_candidate

FIXTURE_SOLUTIONS = CATALOG / "reference_solutions" / "tiny-grad"
HONEST_REST = '''
    import torch

    def softplus(x):
        return torch.log1p(torch.exp(x))

    def save(path, tensor):
        torch.save({"tensor": tensor}, path)

    def load(path):
        return torch.load(path, weights_only=True)["tensor"]
'''  # indented like the sources it ends, so that textwrap.dedent takes both


@pytest.fixture(scope="session")
def tiny_grad():
    return load_challenge(CATALOG / "challenges" / "tiny-grad")


def run(challenge, backend, tmp_path: Path, source: str, seed: int = 11) -> Report:
    path = tmp_path / "solution.py"
    path.write_text(textwrap.dedent(source))
    report = grade(challenge=challenge, submission=path, backend=backend, seed=seed)
    Report.model_validate_json(report.model_dump_json())
    return report


def statuses(report: Report) -> dict[str, CheckStatus]:
    return {check.name: check.status for check in report.checks}


def message(report: Report, name: str) -> str:
    return next(check.message or "" for check in report.checks if check.name == name)


def test_reference_earns_everything_and_stages_run(tiny_grad, backend, tmp_path):
    report = run(tiny_grad, backend, tmp_path, (FIXTURE_SOLUTIONS / "solution.py").read_text())
    assert report.status is RunStatus.graded and report.score == 4, [c.message for c in report.checks]


def test_replacing_what_the_probe_computes_with_is_caught(tiny_grad, backend, tmp_path):
    """Wrong gradient, made to look right by a patched Tensor.backward: the guard voids the probe."""
    source = (FIXTURE_SOLUTIONS / "mutants" / "cheat_patches_backward.py").read_text()
    source = source.replace("return x * 1.0", "return x * k")  # right values, so only the gradient is in question
    source = source.replace("return x * k", "return (x * k).detach() + 0 * x")  # no gradient reaches x except 0
    report = run(tiny_grad, backend, tmp_path, source)
    assert statuses(report)["test_scale_grad"] is CheckStatus.failed
    assert "Tensor.backward was replaced" in message(report, "test_scale_grad")


def test_forbidden_function_reached_at_run_time_breaks_the_rule(tiny_grad, backend, tmp_path):
    source = (FIXTURE_SOLUTIONS / "mutants" / "cheat_softplus_by_built_name.py").read_text()
    report = run(tiny_grad, backend, tmp_path, source)
    assert statuses(report) == {"test_scale_values": CheckStatus.passed, "test_scale_grad": CheckStatus.passed,
                                "test_softplus": CheckStatus.failed, "test_roundtrip": CheckStatus.passed}
    assert "no-torch-softplus" in message(report, "test_softplus")
    assert any("used at run time" in note for note in report.notes)


@pytest.mark.parametrize("route", [
    "torch.nn.functional.__dict__['soft' + 'plus'](x)",
    "eval(bytes.fromhex('746f7263682e6e6e2e66756e6374696f6e616c2e736f6674706c7573').decode())(x)",
    "[c for c in torch.nn.Module.__subclasses__() if c.__name__ == 'Soft' + 'plus'][0]()(x)",
])
def test_each_route_to_a_forbidden_object_trips(tiny_grad, local_backend, tmp_path, route):
    source = f'''
    import torch
    def scale(x, k):
        return x * k
    def softplus(x):
        return {route}
    def save(path, tensor):
        torch.save({{"tensor": tensor}}, path)
    def load(path):
        return torch.load(path, weights_only=True)["tensor"]
    '''
    report = run(tiny_grad, local_backend, tmp_path, source)
    assert statuses(report)["test_softplus"] is CheckStatus.failed
    assert report.score == 3, [c.message for c in report.checks]


def test_state_kept_in_memory_does_not_survive_the_restart(tiny_grad, backend, tmp_path):
    source = (FIXTURE_SOLUTIONS / "mutants" / "keeps_state_in_memory.py").read_text()
    report = run(tiny_grad, backend, tmp_path, source)
    assert statuses(report)["test_roundtrip"] is not CheckStatus.passed and report.score == 3


def test_the_sandbox_holds_no_probe_file_no_seed_and_no_other_probe_inputs(tiny_grad, backend, tmp_path):
    """Walks the file system for the probes' text and searches memory for the run's seed: finding either pays."""
    seed = 1_234_567_891
    source = f'''
    import gc, os, sys, time
    FOUND = []
    deadline = time.monotonic() + 2
    for root, dirs, files in os.walk("/"):
        dirs[:] = [d for d in dirs if os.path.join(root, d) not in ("/proc", "/sys", "/dev", "/usr", "/lib")
                   and d not in ("site-packages", "dist-packages")]
        for name in files:
            if time.monotonic() > deadline:
                break
            try:
                with open(os.path.join(root, name), "rb") as handle:
                    if ("probe_roundtrip" + "__stage2").encode() in handle.read(1 << 20):
                        FOUND.append(os.path.join(root, name))
            except OSError:
                pass
    TARGET = int("{str(seed)[:5]}" + "{str(seed)[5:]}")  # made at run time: not a constant of this file's code
    for obj in gc.get_objects():
        if obj is globals():
            continue
        values = obj.values() if type(obj) is dict else obj if type(obj) in (list, tuple) else ()
        if any(type(v) is int and v == TARGET for v in values):
            FOUND.append("seed in memory")
            break
    frame = sys._getframe()
    while frame is not None:
        if frame.f_locals is not globals() and any(type(v) is int and v == TARGET for v in frame.f_locals.values()):
            FOUND.append("seed on the stack")
        frame = frame.f_back
    JOB_FILES = sorted(os.listdir(os.path.dirname(os.path.abspath(__file__))))
    def scale(x, k):
        return x * k if FOUND or JOB_FILES != ["solution.py"] else x
    ''' + HONEST_REST
    report = run(tiny_grad, backend, tmp_path, source, seed=seed)
    assert statuses(report)["test_scale_values"] is CheckStatus.failed, report.output


def test_forged_messages_out_of_order_void_the_run(tiny_grad, backend, tmp_path):
    source = (FIXTURE_SOLUTIONS / "mutants" / "cheat_forges_messages.py").read_text()
    report = run(tiny_grad, backend, tmp_path, source)
    assert report.status is RunStatus.graded and report.checks, report.reason  # the forgery reached the channel
    assert report.score == 0
    assert all("were forged" in (check.message or "") for check in report.checks), [c.message for c in report.checks]


def test_candidate_sees_the_first_line_and_only_the_submissions_frames(tiny_grad, local_backend, tmp_path):
    source = '''
    def helper():
        raise ValueError("first line of the message\\n" + "SECOND" + " LINE that could carry anything " + "x" * 5000)
    helper()
    '''
    report = run(tiny_grad, local_backend, tmp_path, source)
    assert report.status is RunStatus.ungradable
    assert "line 3, in helper" in report.reason and "line 4, in <module>" in report.reason
    assert "worker.py" not in report.reason and "SECOND LINE" not in report.reason
    candidate = for_candidate(report)
    assert candidate.reason.startswith("the submission could not be imported (error): ValueError: first line")
    assert "\n" not in candidate.reason and len(candidate.reason) <= 300


def test_slow_reference_is_the_graders_error(tiny, local_backend, tmp_path, monkeypatch):
    import threading

    from harness import reference

    release = threading.Event()
    monkeypatch.setattr(reference, "REFERENCE_SECONDS", 0.2)
    monkeypatch.setattr(reference.ReferenceResults, "_compute", lambda self, *args: release.wait(60))
    monkeypatch.setattr(reference, "_cache", {})
    try:
        report = run(tiny, local_backend, tmp_path, (tiny.reference).read_text(), seed=99)
    finally:
        release.set()
    assert report.status is RunStatus.error and "longer than" in report.reason


def test_reference_runs_once_per_seed_with_the_sandboxs_settings(tiny_grad):
    import torch

    from harness.probing import make_plan
    from harness.reference import reference_results

    before = torch.get_num_threads(), torch.are_deterministic_algorithms_enabled()
    first = reference_results(tiny_grad, make_plan(tiny_grad, 5), 5)
    assert first["softplus"] is not None
    assert reference_results(tiny_grad, make_plan(tiny_grad, 5), 5) is first
    second = reference_results(tiny_grad, make_plan(tiny_grad, 6), 6)
    assert second is not first and second["softplus"] is not None
    assert (torch.get_num_threads(), torch.are_deterministic_algorithms_enabled()) == before


def test_an_error_inside_a_probe_shows_only_the_submissions_frames(tiny_grad, local_backend, tmp_path):
    """The probes' and the worker's frames (function names, line numbers) never reach a check's message, which a
    candidate sees for a visible check: only the submission's own frames, with lines from the grader's copy."""
    source = '''
    def helper(x):
        raise ValueError("boom")
    def scale(x, k):
        return helper(x)
    ''' + HONEST_REST
    report = run(tiny_grad, local_backend, tmp_path, source)
    text = message(report, "test_scale_values")
    assert "ValueError: boom" in text, text
    frames = [line.strip() for line in text.splitlines()[1:] if line.strip().startswith("line ")]
    assert frames and all(", in scale:" in line or ", in helper:" in line for line in frames), text
    assert "probe_" not in text and "run_job" not in text and "guarded" not in text, text


def test_every_reference_probe_runs_on_one_thread_with_deterministic_algorithms(tiny_grad, monkeypatch):
    """The reference computes under the sandbox's settings (make_deterministic), whatever the grader's process uses."""
    import torch

    from harness import reference
    from harness.probing import make_plan

    seen = []
    real = reference.call_probe

    def spy(*args, **kwargs):
        seen.append((torch.get_num_threads(), torch.are_deterministic_algorithms_enabled()))
        return real(*args, **kwargs)

    monkeypatch.setattr(reference, "call_probe", spy)
    monkeypatch.setattr(reference, "_cache", {})
    before = torch.get_num_threads(), torch.are_deterministic_algorithms_enabled()
    torch.set_num_threads(2)
    torch.use_deterministic_algorithms(False)
    try:
        results = reference.reference_results(tiny_grad, make_plan(tiny_grad, 8), 8)
        assert results["softplus"] is not None
    finally:
        torch.set_num_threads(before[0])
        torch.use_deterministic_algorithms(before[1])
    assert seen and set(seen) == {(1, True)}, seen
