"""A challenge's rules hold at run time: the sandbox worker's `Rules` catch every route back to a forbidden torch
object, and a rule broken at run time fails every check it gates.

The route tests run the worker's own `Rules` class in a subprocess of this Python (its audit hook and seccomp
filter must not outlive the test): torch is imported and the rules of the real challenges (read from their
challenge.toml) are installed once, then every route runs in a forked child, first without the rules (the
control: the route really reaches torch's implementation and gets its value) and then with them (it must be
reported on the channel, as the worker reports it to the grader). Honest code must run under the same rules
without a report and without disturbing the guard. The last tests grade real submissions with the local backend.
"""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import textwrap
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from harness.challenge import load_challenge
from harness.grader import grade
from harness.report import CheckStatus, RunStatus

REPO = Path(__file__).resolve().parent.parent
CHALLENGES = REPO / "challenges"


def sandbox_rules(challenge_id: str) -> list[dict]:
    """The rules as the grader sends them into the sandbox."""
    meta = load_challenge(CHALLENGES / challenge_id).meta
    assert meta.rules, f"{challenge_id} declares no [[rules]]"
    return [{"id": rule.id, "forbid": list(rule.forbid)} for rule in meta.rules]


# ---------------------------------------------------------------- the driver (runs in a subprocess)

DRIVER = r'''
import importlib.util, json, os, sys
spec = importlib.util.spec_from_file_location("_harness_worker", sys.argv[1])
worker = importlib.util.module_from_spec(spec)
spec.loader.exec_module(worker)
job = json.loads(sys.stdin.read())
import torch
worker.make_deterministic()
worker.warm_up()


class Channel:
    """The worker's channel, as a pipe this driver reads: forked grandchildren report through it too."""
    fd = None

    def send(self, **message):
        os.write(Channel.fd, (json.dumps(message) + "\n").encode())


namespace = {"__name__": "_harness_setup"}
exec(compile(job["setup"], "<setup>", "exec"), namespace)  # EXPECTED, computed with the real, untouched classes


def run(name, source, guard):
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read)
        Channel.fd = write
        module = {"__name__": "solution", "EXPECTED": namespace.get("EXPECTED"), "SETUP": namespace}
        try:
            exec(compile(source, "<" + name + ">", "exec"), module)
            outcome = {"status": "returned", "result": repr(module.get("RESULT"))[:300],
                       "correct": module.get("RESULT") == module["EXPECTED"]}
        except worker.RuleBroken as error:
            outcome = {"status": "RuleBroken", "error": str(error)[:300]}
        except BaseException as error:
            outcome = {"status": "raised", "error": (type(error).__name__ + ": " + str(error))[:300]}
        outcome["guard"] = guard.problems() if guard is not None else []
        Channel().send(event="outcome", **outcome)
        os._exit(0)
    os.close(write)
    data = b""
    while True:
        chunk = os.read(read, 1 << 16)
        if not chunk:
            break
        data += chunk
    os.close(read)
    os.waitpid(pid, 0)
    messages = [json.loads(line) for line in data.decode().splitlines() if line.strip()]
    outcome = next((m for m in messages if m["event"] == "outcome"), {"status": "no outcome (the child died)"})
    return {"outcome": outcome, "reports": [m for m in messages if m["event"] == "rule"]}


results = {name: {"control": run(name, source, None)} for name, source in job["routes"].items()}
worker.Rules(job["rules"], Channel())
guard = worker.Guard([])
for name, source in job["routes"].items():
    results[name]["ruled"] = run(name, source, guard)
print(json.dumps(results))
'''


def run_routes(rules: list[dict], setup: str, routes: dict[str, str]) -> dict:
    job = json.dumps({"rules": rules, "setup": setup, "routes": routes})
    done = subprocess.run([sys.executable, "-c", DRIVER, str(REPO / "harness" / "sandbox" / "worker.py")],
                          input=job, capture_output=True, text=True, timeout=600, cwd=REPO)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.splitlines()[-1])


# ---------------------------------------------------------------- routes back to torch's lr schedulers

SCHEDULER_SETUP = '''
import torch
from torch.optim.lr_scheduler import CyclicLR

def lr_after_three_steps(cls):
    param = torch.zeros(1, requires_grad=True)
    optimizer = torch.optim.SGD([param], lr=0.01)
    scheduler = cls(optimizer, base_lr=0.01, max_lr=0.1, step_size_up=2, cycle_momentum=False)
    for _ in range(3):
        optimizer.step()
        scheduler.step()
    return optimizer.param_groups[0]["lr"]

EXPECTED = lr_after_three_steps(CyclicLR)
'''

SCHEDULER_PRE = '''
import torch
def lr_after_three_steps(cls):
    param = torch.zeros(1, requires_grad=True)
    optimizer = torch.optim.SGD([param], lr=0.01)
    scheduler = cls(optimizer, base_lr=0.01, max_lr=0.1, step_size_up=2, cycle_momentum=False)
    for _ in range(3):
        optimizer.step()
        scheduler.step()
    return optimizer.param_groups[0]["lr"]
def subclasses(root):
    seen, todo = [], [root]
    while todo:
        for sub in type.__subclasses__(todo.pop()):
            if sub not in seen:
                seen.append(sub)
                todo.append(sub)
    return seen
MODULE = "torch.optim." + "lr_" + "scheduler"
NAME = "Cyc" + "licLR"
FILE = __import__("os").path.join(__import__("os").path.dirname(torch.optim.__file__), "lr_" + "scheduler.py")
'''

SCHEDULER_ROUTES = {
    "import_module of a joined string": '''
import importlib
RESULT = lr_after_three_steps(getattr(importlib.import_module(".".join(["torch", "optim", "lr_" + "scheduler"])), NAME))
''',
    "getattr with a name made of chr codes": '''
module = getattr(torch.optim, "".join(map(chr, [108, 114, 95, 115, 99, 104, 101, 100, 117, 108, 101, 114])))
RESULT = lr_after_three_steps(getattr(module, "".join(map(chr, [67, 121, 99, 108, 105, 99, 76, 82]))))
''',
    "exec of base64-decoded source": f'''
import base64
namespace = {{}}
exec(base64.b64decode("{base64.b64encode(b"from torch.optim.lr_scheduler import CyclicLR as Found").decode()}"), namespace)
RESULT = lr_after_three_steps(namespace["Found"])
''',
    "LRScheduler.__subclasses__()": '''
base = next(cls for cls in subclasses(object) if cls.__name__ == "LR" + "Scheduler")
RESULT = lr_after_three_steps(next(cls for cls in subclasses(base) if cls.__name__ == NAME))
''',
    "subclassing the class found through __subclasses__": '''
class Mine(next(cls for cls in subclasses(object) if cls.__name__ == NAME)):
    pass
RESULT = lr_after_three_steps(Mine)
''',
    "object.__new__ then the methods": '''
import sys
found = getattr(sys.modules[MODULE], NAME)
scheduler = object.__new__(found)
optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.01)
found.__init__(scheduler, optimizer, base_lr=0.01, max_lr=0.1, step_size_up=2, cycle_momentum=False)
for _ in range(3):
    optimizer.step()
    found.step(scheduler)
RESULT = optimizer.param_groups[0]["lr"]
''',
    "importlib.reload": '''
import importlib, sys
RESULT = lr_after_three_steps(getattr(importlib.reload(sys.modules[MODULE]), NAME))
''',
    "del sys.modules then re-import": '''
import importlib, sys
del sys.modules[MODULE]
RESULT = lr_after_three_steps(getattr(importlib.import_module(MODULE), NAME))
''',
    "inspect.getsource then exec": '''
import inspect, sys, types
copy = types.ModuleType("torch.optim._copy")
copy.__package__ = "torch.optim"
exec(inspect.getsource(sys.modules[MODULE]), vars(copy))
RESULT = lr_after_three_steps(getattr(copy, NAME))
''',
    "reading the module file and exec'ing it": '''
import types
copy = types.ModuleType("torch.optim._copy")
copy.__package__ = "torch.optim"
with open(FILE) as handle:
    exec(handle.read(), vars(copy))
RESULT = lr_after_three_steps(getattr(copy, NAME))
''',
    "copying the file to /tmp and importing the copy": '''
import importlib.util, os, shutil, sys, tempfile
target = os.path.join(tempfile.mkdtemp(), "schedules.py")
shutil.copyfile(FILE, target)
spec = importlib.util.spec_from_file_location("torch.optim._schedules_copy", target)
copy = importlib.util.module_from_spec(spec)
sys.modules[spec.name] = copy
spec.loader.exec_module(copy)
RESULT = lr_after_three_steps(getattr(copy, NAME))
''',
    "loading the cached bytecode with marshal": '''
import importlib.util, marshal, types
with open(importlib.util.cache_from_source(FILE), "rb") as handle:
    code = marshal.loads(handle.read()[16:])
copy = types.ModuleType("torch.optim._copy")
copy.__package__ = "torch.optim"
exec(code, vars(copy))
RESULT = lr_after_three_steps(getattr(copy, NAME))
''',
    "an exception swallowed by the submission": '''
import sys
try:
    lr_after_three_steps(getattr(sys.modules[MODULE], NAME))
except Exception:
    pass
RESULT = EXPECTED
''',
}


# ---------------------------------------------------------------- routes back to torch's Adam / AdamW

ADAM_SETUP = '''
import torch

def three_steps(cls):
    generator = torch.Generator().manual_seed(0)
    param = torch.nn.Parameter(torch.randn(4, dtype=torch.float64, generator=generator))
    optimizer = cls([param], lr=0.01, weight_decay=0.1)
    for _ in range(3):
        param.grad = torch.randn(4, dtype=torch.float64, generator=generator)
        optimizer.step()
    return [round(value, 12) for value in param.detach().tolist()]

EXPECTED = three_steps(torch.optim.AdamW)
'''

ADAM_PRE = '''
import os
import torch
def three_steps(cls, **extra):
    generator = torch.Generator().manual_seed(0)
    param = torch.nn.Parameter(torch.randn(4, dtype=torch.float64, generator=generator))
    optimizer = cls([param], lr=0.01, weight_decay=0.1, **extra)
    for _ in range(3):
        param.grad = torch.randn(4, dtype=torch.float64, generator=generator)
        optimizer.step()
    return [round(value, 12) for value in param.detach().tolist()]
def with_kernel(kernel):
    """Three AdamW steps done by a fused kernel (any route to aten::_fused_adamw_)."""
    generator = torch.Generator().manual_seed(0)
    param = torch.randn(4, dtype=torch.float64, generator=generator)
    exp_avg, exp_avg_sq, step = torch.zeros(4, dtype=torch.float64), torch.zeros(4, dtype=torch.float64), torch.tensor(0.0)
    for _ in range(3):
        grad = torch.randn(4, dtype=torch.float64, generator=generator)
        step += 1
        kernel([param], [grad], [exp_avg], [exp_avg_sq], [], [step], lr=0.01, beta1=0.9, beta2=0.999,
               weight_decay=0.1, eps=1e-8, amsgrad=False, maximize=False)
    return [round(value, 12) for value in param.tolist()]
def by_name(root, name):
    todo = [root]
    while todo:
        for sub in type.__subclasses__(todo.pop()):
            if sub.__name__ == name:
                return sub
            todo.append(sub)
NAME = "".join(["Ad", "amW"])
MODULE = "torch.optim.ad" + "amw"
BASE_MODULE = "torch.optim.ad" + "am"
FOLDER = os.path.dirname(torch.optim.__file__)
FILE = os.path.join(FOLDER, "ad" + "am.py")
def exec_copy(source):
    import types
    copy = types.ModuleType("torch.optim._copy")
    copy.__package__ = "torch.optim"
    exec(source, vars(copy))
    return three_steps(getattr(copy, "Ad" + "am"), decoupled_weight_decay=True)
'''

ADAM_ROUTES = {
    "import_module of a joined string": '''
import importlib
RESULT = three_steps(getattr(importlib.import_module(".".join(["torch", "optim", "ad" + "amw"])), NAME))
''',
    "getattr with a name made of chr codes": '''
RESULT = three_steps(getattr(torch.optim, "".join(map(chr, [65, 100, 97, 109, 87]))))
''',
    "exec of base64-decoded source": f'''
import base64
namespace = {{}}
exec(base64.b64decode("{base64.b64encode(b"import torch; Found = torch.optim.AdamW").decode()}"), namespace)
RESULT = three_steps(namespace["Found"])
''',
    "Optimizer.__subclasses__()": '''
RESULT = three_steps(by_name(torch.optim.Optimizer, NAME))
''',
    "subclassing the class found through __subclasses__": '''
class Mine(by_name(torch.optim.Optimizer, NAME)):
    pass
RESULT = three_steps(Mine)
''',
    "subclassing it with type()": '''
RESULT = three_steps(type("Mine", (by_name(torch.optim.Optimizer, NAME),), {}))
''',
    "object.__new__, Optimizer.__init__, then its step": '''
found = by_name(torch.optim.Optimizer, NAME)
generator = torch.Generator().manual_seed(0)
param = torch.nn.Parameter(torch.randn(4, dtype=torch.float64, generator=generator))
optimizer = object.__new__(found)
torch.optim.Optimizer.__init__(optimizer, [param], dict(
    lr=0.01, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.1, amsgrad=False, maximize=False, foreach=False,
    capturable=False, differentiable=False, fused=None, decoupled_weight_decay=True))
for _ in range(3):
    param.grad = torch.randn(4, dtype=torch.float64, generator=generator)
    found.step(optimizer)
RESULT = [round(value, 12) for value in param.detach().tolist()]
''',
    "the functional form from torch.optim._functional": '''
import importlib
adamw = getattr(importlib.import_module("torch.optim._fun" + "ctional"), "ad" + "amw")
def kernel(params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs, steps, **options):
    steps[0] -= 1  # the functional form counts the step itself
    adamw(params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs, steps, foreach=False, **options)
RESULT = with_kernel(kernel)
''',
    "the single-tensor function left in torch.optim.optimizer's globals": '''
import sys
single = vars(sys.modules["torch.optim.optimizer"])["_single_tensor_ad" + "am"]
def kernel(params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs, steps, **options):
    steps[0] -= 1
    single(params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs, steps, grad_scale=None, found_inf=None,
           has_complex=False, capturable=False, differentiable=False, decoupled_weight_decay=True, **options)
RESULT = with_kernel(kernel)
''',
    "the fused kernel as a torch attribute": '''
RESULT = with_kernel(getattr(torch, "_fu" + "sed_ad" + "amw_"))
''',
    "the fused kernel through torch._C._VariableFunctions": '''
RESULT = with_kernel(getattr(torch._C._VariableFunctions, "_fu" + "sed_ad" + "amw_"))
''',
    "the fused kernel through torch.ops.aten": '''
RESULT = with_kernel(getattr(torch.ops.aten, "_fu" + "sed_ad" + "amw_").default)
''',
    "the fused kernel's functional form through torch.ops.aten": '''
def kernel(params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs, steps, **options):
    new = getattr(torch.ops.aten, "_fu" + "sed_ad" + "amw")(params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs, steps, **options)
    for olds, news in zip((params, exp_avgs, exp_avg_sqs), (new[0], new[2], new[3])):
        for old, fresh in zip(olds, news):
            old.copy_(fresh)
RESULT = with_kernel(kernel)
''',
    "importlib.reload(torch.optim.adamw)": '''
import importlib, sys
RESULT = three_steps(getattr(importlib.reload(sys.modules[MODULE]), NAME))
''',
    "del sys.modules then re-import": '''
import importlib, sys
del sys.modules[MODULE], sys.modules[BASE_MODULE]
RESULT = three_steps(getattr(importlib.import_module(MODULE), NAME))
''',
    "inspect.getsource then exec": '''
import inspect, sys
RESULT = exec_copy(inspect.getsource(sys.modules[BASE_MODULE]))
''',
    "reading the module file and exec'ing it": '''
with open(FILE) as handle:
    RESULT = exec_copy(handle.read())
''',
    "reading it through pathlib": '''
import pathlib
RESULT = exec_copy(pathlib.Path(FILE).read_text())
''',
    "reading it through linecache": '''
import linecache
RESULT = exec_copy("".join(linecache.getlines(FILE)))
''',
    "copying the file to /tmp and importing the copy": '''
import importlib.util, shutil, sys, tempfile
target = os.path.join(tempfile.mkdtemp(), "mine.py")
shutil.copyfile(FILE, target)
spec = importlib.util.spec_from_file_location("torch.optim._mine", target)
copy = importlib.util.module_from_spec(spec)
sys.modules[spec.name] = copy
spec.loader.exec_module(copy)
RESULT = three_steps(getattr(copy, "Ad" + "am"), decoupled_weight_decay=True)
''',
    "a symlink to the file under another name": '''
import tempfile
link = os.path.join(tempfile.mkdtemp(), "notes.txt")
os.symlink(FILE, link)
with open(link) as handle:
    RESULT = exec_copy(handle.read())
''',
    "os.open relative to a directory fd, every line reworded by a comment": '''
folder = os.open(FOLDER, os.O_RDONLY)
handle = os.open("ad" + "am.py", os.O_RDONLY, dir_fd=folder)
text = os.read(handle, 1 << 24).decode()
RESULT = exec_copy("\\n".join(line + "  # mine" if line.strip() else line for line in text.splitlines()))
''',
    "subprocess.run of a fresh interpreter": '''
import subprocess, sys
RESULT = subprocess.run([sys.executable, "-c", "print(6 * 7)"], capture_output=True, text=True).stdout.strip()
assert RESULT == "42"
RESULT = EXPECTED
''',
    "os.system": '''
assert os.system("true") == 0
RESULT = EXPECTED
''',
    "_posixsubprocess.fork_exec, as multiprocessing calls it": '''
import multiprocessing.util, sys
pid = multiprocessing.util.spawnv_passfds(sys.executable.encode(), [sys.executable.encode(), b"-c", b"pass"], [])
assert os.waitpid(pid, 0)[1] == 0
RESULT = EXPECTED
''',
    "a fresh _posixsubprocess, imported again": '''
import sys
del sys.modules["_posixsubprocess"]
import _posixsubprocess
import multiprocessing.util
multiprocessing.util._posixsubprocess = _posixsubprocess
pid = multiprocessing.util.spawnv_passfds(sys.executable.encode(), [sys.executable.encode(), b"-c", b"pass"], [])
assert os.waitpid(pid, 0)[1] == 0
RESULT = EXPECTED
''',
    "os.fork then os.execv in the child": '''
pid = os.fork()
if pid == 0:
    try:
        os.execv("/bin/true", ["/bin/true"])
    finally:
        os._exit(3)
assert os.waitpid(pid, 0)[1] == 0
RESULT = EXPECTED
''',
    "libc's system() through ctypes": '''
import ctypes
assert ctypes.CDLL(None).system(b"true") == 0
RESULT = EXPECTED
''',
    "an exception swallowed by the submission": '''
try:
    three_steps(by_name(torch.optim.Optimizer, NAME))
except Exception:
    pass
RESULT = EXPECTED
''',
}


# ---------------------------------------------------------------- honest code, under both rule sets

HONEST_ROUTES = {
    "torch.optim.SGD with momentum, its state_dict, an Optimizer subclass, torch.save/load": '''
import copy, io, math
import torch
param = torch.nn.Parameter(torch.ones(3))
sgd = torch.optim.SGD([param], lr=0.1, momentum=0.9, weight_decay=0.01)
for _ in range(3):
    sgd.zero_grad()
    (param * param).sum().backward()
    sgd.step()
state = copy.deepcopy(sgd.state_dict())
again = torch.optim.SGD([torch.nn.Parameter(torch.ones(3))], lr=0.5, momentum=0.9)
again.load_state_dict(state)

class Mine(torch.optim.Optimizer):
    def __init__(self, params, lr=0.1):
        super().__init__(params, dict(lr=lr))

    @torch.no_grad()
    def step(self, closure=None):
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    self.state[p]["step"] = self.state[p].get("step", 0) + 1
                    p.add_(p.grad, alpha=-group["lr"])

mine = Mine([param])
param.grad = torch.ones(3)
mine.step()
buffer = io.BytesIO()
torch.save(mine.state_dict(), buffer)
Mine([torch.nn.Parameter(torch.ones(3))]).load_state_dict(torch.load(io.BytesIO(buffer.getvalue()), weights_only=True))
model = torch.nn.Linear(3, 2)
torch.nn.functional.mse_loss(model(torch.ones(4, 3)), torch.zeros(4, 2)).backward()
RESULT = EXPECTED if math.isfinite(float(param.sum())) else None
''',
}


def reference_route(challenge_id: str, call: str) -> str:
    """Load a reference solution the way the worker loads a submission, and use it."""
    path = REPO / "reference_solutions" / challenge_id / "solution.py"
    return f'''
import importlib.util, sys
spec = importlib.util.spec_from_file_location("solution_{challenge_id.replace("-", "_")}", {str(path)!r})
reference = importlib.util.module_from_spec(spec)
sys.modules[spec.name] = reference
spec.loader.exec_module(reference)
{call}
RESULT = EXPECTED
'''


HONEST_ROUTES["the cyclic-lr reference"] = reference_route(
    "cyclic-lr", "[reference.cyclic_lr(t, 0.01, 0.1, 2, mode='exp_range', gamma=0.9) for t in range(20)]")
HONEST_ROUTES["the lr-schedule-closed-forms reference"] = reference_route(
    "lr-schedule-closed-forms", "[reference.lr_at('cosine', t, 0.1, T_max=4, eta_min=0.0) for t in range(20)]")
HONEST_ROUTES["the adamw-from-scratch reference"] = reference_route("adamw-from-scratch", '''
import torch
param = torch.nn.Parameter(torch.ones(3, dtype=torch.float64))
optimizer = reference.AdamW([param], lr=0.1)
for _ in range(3):
    param.grad = torch.ones(3, dtype=torch.float64)
    optimizer.step()
''')


@pytest.fixture(scope="module")
def routes() -> dict:
    """Every route, run once under each challenge's rules (two driver processes, side by side)."""
    jobs = {
        "cyclic-lr": (sandbox_rules("cyclic-lr"), SCHEDULER_SETUP,
                      {name: SCHEDULER_PRE + source for name, source in {**SCHEDULER_ROUTES, **HONEST_ROUTES}.items()}),
        "adamw-from-scratch": (sandbox_rules("adamw-from-scratch"), ADAM_SETUP,
                               {name: ADAM_PRE + source for name, source in {**ADAM_ROUTES, **HONEST_ROUTES}.items()}),
    }
    with ThreadPoolExecutor(len(jobs)) as pool:
        futures = {key: pool.submit(run_routes, *job) for key, job in jobs.items()}
        return {key: future.result() for key, future in futures.items()}


def assert_caught(result: dict, rule_id: str) -> None:
    control, ruled = result["control"], result["ruled"]
    assert control["outcome"].get("correct") is True, f"the route does not work even without the rules: {control}"
    assert control["reports"] == []
    reports = [report for report in ruled["reports"] if report["rule"] in (rule_id, "*")]
    assert reports, f"not reported: {ruled}"  # a report alone fails every check (see the grading tests below)


@pytest.mark.parametrize("route", list(SCHEDULER_ROUTES))
def test_route_to_torch_schedulers_is_reported(routes, route):
    assert_caught(routes["cyclic-lr"][route], "no-torch-schedulers")


@pytest.mark.parametrize("route", list(ADAM_ROUTES))
def test_route_to_torch_adam_is_reported(routes, route):
    assert_caught(routes["adamw-from-scratch"][route], "no-torch-adam")


@pytest.mark.parametrize("rules", ["cyclic-lr", "adamw-from-scratch"])
@pytest.mark.parametrize("route", list(HONEST_ROUTES))
def test_honest_code_is_not_flagged(routes, rules, route):
    result = routes[rules][route]["ruled"]
    assert result["reports"] == [], result
    assert result["outcome"]["status"] == "returned" and result["outcome"]["correct"] is True, result
    assert result["outcome"]["guard"] == [], "the rules disturbed what the guard pins"


def test_the_route_that_swallows_the_exception_still_reports(routes):
    """A submission that catches the tripwire's exception and goes on is reported all the same."""
    for rules, rule_id in (("cyclic-lr", "no-torch-schedulers"), ("adamw-from-scratch", "no-torch-adam")):
        result = routes[rules]["an exception swallowed by the submission"]["ruled"]
        assert result["outcome"]["status"] == "returned" and result["outcome"]["correct"] is True
        assert [report["rule"] for report in result["reports"]] == [rule_id]


def test_no_original_code_of_a_forbidden_module_stays_reachable():
    """gc finds no function whose code comes from a forbidden module: disarming in place leaves nothing to call."""
    source = r'''
import gc, types
import torch
import torch.optim.lr_scheduler
forbidden = ("/optim/lr_scheduler.py", "/optim/adam.py", "/optim/adamw.py")
RESULT = sorted({o.__qualname__ for o in gc.get_objects()
                 if type(o) is types.FunctionType and o.__code__.co_filename.endswith(forbidden)})
'''
    rules = sandbox_rules("cyclic-lr") + sandbox_rules("adamw-from-scratch")
    found = run_routes(rules, "EXPECTED = []", {"gc": source})["gc"]
    assert found["control"]["outcome"]["result"] != "[]"  # they are there before the rules
    assert found["ruled"]["outcome"] == {"event": "outcome", "status": "returned", "result": "[]", "correct": True, "guard": []}


# ---------------------------------------------------------------- through the grader: every gated check fails


def grade_source(challenge_id: str, source: str, backend, tmp_path: Path, seed: int = 5):
    path = tmp_path / "solution.py"
    path.write_text(textwrap.dedent(source))
    return grade(challenge=load_challenge(CHALLENGES / challenge_id), submission=path, backend=backend, seed=seed)


HONEST_CYCLIC = """
import torch


def cyclic_lr(step, base_lr, max_lr, step_size_up, step_size_down=None, mode="triangular", gamma=1.0):
    # Walks the schedule with a plain SGD optimizer carrying the lr: torch.optim.SGD is allowed, schedulers are not.
    down = step_size_up if step_size_down is None else step_size_down
    optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=base_lr)
    cycle, position = divmod(step, step_size_up + down)
    rise = position / step_size_up if position <= step_size_up else (step_size_up + down - position) / down
    scale = {"triangular": 1.0, "triangular2": 0.5 ** cycle, "exp_range": gamma ** step}[mode]
    for group in optimizer.param_groups:
        group["lr"] = base_lr + (max_lr - base_lr) * rise * scale
    return float(optimizer.param_groups[0]["lr"])
"""


def test_an_honest_submission_using_sgd_scores_full_marks(local_backend, tmp_path):
    report = grade_source("cyclic-lr", HONEST_CYCLIC, local_backend, tmp_path)
    assert report.status is RunStatus.graded and report.score == report.max_score, report.model_dump_json()[:2000]
    assert report.notes == []


def test_a_rule_broken_at_run_time_fails_every_check(local_backend, tmp_path):
    """The right values, but CyclicLR was reached once (and the exception swallowed): 0, every check failed."""
    cheat = HONEST_CYCLIC + """
import importlib

try:
    getattr(importlib.import_module("torch.optim." + "lr_" + "scheduler"), "Cyc" + "licLR")(None, 0.1, 1.0)
except Exception:
    pass
"""
    report = grade_source("cyclic-lr", cheat, local_backend, tmp_path)
    assert report.status is RunStatus.graded and report.score == 0
    assert {check.status for check in report.checks} == {CheckStatus.failed}
    assert all("rule 'no-torch-schedulers' broken" in check.message for check in report.checks)
    assert any("used at run time" in note for note in report.notes)


@pytest.mark.slow
def test_inheriting_torch_adamw_found_through_subclasses_scores_nothing(local_backend, tmp_path):
    """The issue's case: AdamW derived from torch's, found through Optimizer.__subclasses__(), used to get 16/18."""
    source = (REPO / "reference_solutions" / "adamw-from-scratch" / "solution.py").read_text() + """

def _find(name):
    todo = [torch.optim.Optimizer]
    while todo:
        for sub in todo.pop().__subclasses__():
            if sub.__name__ == name and sub.__module__.startswith("torch."):  # not the class above
                return sub
            todo.append(sub)


try:
    class _Theirs(_find("".join(["Ad", "amW"]))):
        pass
except Exception:
    pass  # keeps the honest class above: the values are right, the rule is still broken
"""
    report = grade_source("adamw-from-scratch", source, local_backend, tmp_path)
    assert report.status is RunStatus.graded and report.score == 0, report.model_dump_json()[:2000]
    assert {check.status for check in report.checks} == {CheckStatus.failed}
    assert any("subclassing torch.optim.adamw.AdamW" in note for note in report.notes)


def test_starting_a_program_is_refused_even_without_an_audit_event():
    """Where no audit event fires (a libc execv that ctypes resolved before the rules), the seccomp filter refuses it."""
    setup = """
import ctypes
LIBC = ctypes.CDLL(None, use_errno=True)
EXECV = LIBC.execv
EXPECTED = "ran"
"""
    source = r"""
import ctypes, os
read, write = os.pipe()
pid = os.fork()
if pid == 0:
    argv = (ctypes.c_char_p * 2)(b"/bin/true", None)
    SETUP["EXECV"](b"/bin/true", argv)  # returns only if the exec failed
    os.write(write, b"errno %d" % ctypes.get_errno())
    os._exit(0)
os.close(write)
failure = os.read(read, 100).decode()
os.waitpid(pid, 0)
RESULT = failure or "ran"
"""
    found = run_routes(sandbox_rules("adamw-from-scratch"), setup, {"execv": source})["execv"]
    assert found["control"]["outcome"]["result"] == "'ran'", found["control"]
    assert found["ruled"]["outcome"]["result"] == "'errno 1'", found["ruled"]  # EPERM, from the seccomp filter
