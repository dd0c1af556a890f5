"""Starter code: it runs, but the schedule is not the one the statement asks for. Fix WarmupCosine."""

import math

from torch.optim.lr_scheduler import LRScheduler


class WarmupCosine(LRScheduler):
    """Linear warmup over `warmup_steps`, then a half cosine down to `min_lr` at `total_steps`, then `min_lr`."""

    def __init__(self, optimizer, warmup_steps, total_steps, min_lr=0.0, warmup_start_factor=0.0, last_epoch=-1):
        self.warmup_steps = warmup_steps
        self.total_steps = total_steps
        self.min_lr = min_lr
        self.warmup_start_factor = warmup_start_factor
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        t = self.last_epoch
        lrs = []
        for base_lr in self.base_lrs:
            if t < self.warmup_steps:
                factor = self.warmup_start_factor + (1 - self.warmup_start_factor) * t / self.warmup_steps
                lrs.append(base_lr * factor)
            else:
                lrs.append(base_lr * (1 + math.cos(math.pi * t / self.total_steps)) / 2)
        return lrs
