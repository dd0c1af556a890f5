"""Examples for weight-decay-exclude-bias: run `pytest` in a folder holding these tests and your solution.py."""

import torch
from torch import nn

from solution import make_optimizer, param_groups


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(10, 4)
        self.bias_proj = nn.Linear(4, 4)
        self.norm = nn.LayerNorm(4)
        self.gain = nn.Parameter(torch.ones(()))
        self.frozen = nn.Linear(4, 4)
        self.frozen.requires_grad_(False)


def group_names(model, groups):
    names = {id(p): n for n, p in model.named_parameters()}
    return [[names.get(id(p), "<not in model>") for p in g["params"]] for g in groups]


def test_two_groups_in_order():
    groups = param_groups(Net(), 0.1)
    assert len(groups) == 2
    assert groups[0]["weight_decay"] == 0.1
    assert groups[1]["weight_decay"] == 0.0


def test_statement_example():
    net = Net()
    decay, no_decay = group_names(net, param_groups(net, 0.1))
    assert decay == ["bias_proj.weight"]
    assert no_decay == ["gain", "emb.weight", "bias_proj.bias", "norm.weight", "norm.bias"]


def test_conv_and_batchnorm():
    model = nn.Sequential(nn.Conv2d(3, 4, 3, bias=False), nn.BatchNorm2d(4), nn.Conv2d(4, 2, 1), nn.LayerNorm([2, 3, 3]))
    decay, no_decay = group_names(model, param_groups(model, 0.05))
    assert decay == ["0.weight", "2.weight"]
    assert no_decay == ["1.weight", "1.bias", "2.bias", "3.weight", "3.bias"]


def test_tied_output_layer_is_not_decayed_and_listed_once():
    class Tied(nn.Module):
        def __init__(self):
            super().__init__()
            self.out = nn.Linear(4, 7, bias=False)
            self.hidden = nn.Linear(4, 4)
            self.tok = nn.Embedding(7, 4)
            self.out.weight = self.tok.weight

    model = Tied()
    decay, no_decay = group_names(model, param_groups(model, 0.1))
    assert decay == ["hidden.weight"]
    assert no_decay == ["out.weight", "hidden.bias"]


def test_zero_grad_step_decays_only_weights():
    torch.manual_seed(0)
    net = Net()
    lr, wd = 0.1, 0.2
    opt = make_optimizer(net, lr, wd)
    assert type(opt) is torch.optim.AdamW
    assert all(g["lr"] == lr for g in opt.param_groups)
    before = {n: p.detach().clone() for n, p in net.named_parameters()}
    for p in net.parameters():
        p.grad = torch.zeros_like(p)
    opt.step()
    for name, p in net.named_parameters():
        if name == "bias_proj.weight":
            torch.testing.assert_close(p.detach(), before[name] * (1 - lr * wd))
        else:
            assert torch.equal(p.detach(), before[name]), f"{name} should not change"
