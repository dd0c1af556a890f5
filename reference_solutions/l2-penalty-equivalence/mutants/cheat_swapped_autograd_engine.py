# Cheat: replaces the autograd engine object that torch.autograd calls into
# (torch.autograd.variable.Variable._execution_engine: a class attribute, not a torch function),
# with a wrapper that runs the real engine and then adds wd * p to the gradients of the last model
# passed to l2_penalty. The penalty itself is a zero connected to the parameters. Only
# shrink_factor is honest work.
# harness: max-score = 2
"""Cheat mutant: a swapped autograd engine."""

import torch
from torch import nn
from torch.autograd.variable import Variable

_last = {}
_real = Variable._execution_engine


class _Engine:
    def run_backward(self, outputs, grad_outputs, keep_graph, create_graph, inputs, allow_unreachable, accumulate_grad):
        result = _real.run_backward(outputs, grad_outputs, keep_graph, create_graph, inputs, allow_unreachable,
                                    accumulate_grad)
        model, wd = _last.get("model"), _last.get("wd", 0.0)
        if model is None:
            return result
        params = [p for p in model.parameters() if p.requires_grad]
        with torch.no_grad():
            if accumulate_grad:
                for p in params:
                    p.grad = wd * p.detach() if p.grad is None else p.grad + wd * p.detach()
                return result
            fixed = []
            for x, g in zip(inputs, result):
                hit = any(x is p for p in params)
                fixed.append((wd * x.detach() if g is None else g + wd * x.detach()) if hit else g)
            return tuple(fixed)

    def __getattr__(self, name):
        return getattr(_real, name)


Variable._execution_engine = _Engine()


def l2_penalty(model: nn.Module, weight_decay: float) -> torch.Tensor:
    _last["model"], _last["wd"] = model, weight_decay
    return 0.0 * sum(p.sum() for p in model.parameters() if p.requires_grad)


def shrink_factor(lr: float, weight_decay: float, steps: int) -> float:
    return float((1.0 - lr * weight_decay) ** steps)
