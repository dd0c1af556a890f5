"""The data generator for regularized-classifier (the grader draws its data with this same code).

`make_data(seed, n)` draws one small, noisy, two-class tabular problem from `seed` and returns
`n` i.i.d. rows of it:

- 10 float32 features. 2 of them carry the signal, 8 are pure noise. Which columns are which
  changes with the seed.
- Every feature has its own scale and offset, spread over about six orders of magnitude:
  the informative columns are tiny (standard deviation 0.001 to 0.1), the noise columns
  are huge (10 to 1000) and their means sit far from zero.
- The label is a linear threshold on the (unscaled) informative columns, and then 20% of the
  labels are flipped at random, so no classifier can do better than about 80% accuracy.

Rows are independent given the seed: take the first rows for training and the rest as a
held-out test set, as the grader does.
"""

import torch

N_FEATURES = 10
N_INFORMATIVE = 2
LABEL_NOISE = 0.2


def make_data(seed: int, n: int = 1000) -> tuple[torch.Tensor, torch.Tensor]:
    """Return (X, y): X is float32 of shape (n, 10), y is int64 of shape (n,) with values 0 and 1."""
    g = torch.Generator().manual_seed(seed)
    # The "world" of this seed: signal direction, feature scales and offsets, column order.
    direction = torch.randn(N_INFORMATIVE, generator=g)
    direction = 4.0 * direction / direction.norm()
    log_scales = torch.cat([
        torch.empty(N_INFORMATIVE).uniform_(-3.0, -1.0, generator=g),
        torch.empty(N_FEATURES - N_INFORMATIVE).uniform_(1.0, 3.0, generator=g),
    ])
    scales = 10.0 ** log_scales
    offsets = 5.0 * scales * torch.randn(N_FEATURES, generator=g)
    columns = torch.randperm(N_FEATURES, generator=g)
    # The rows.
    z = torch.randn(n, N_FEATURES, generator=g, dtype=torch.float64)
    clean = (z[:, :N_INFORMATIVE] @ direction.double() > 0).long()
    flipped = torch.rand(n, generator=g) < LABEL_NOISE
    y = torch.where(flipped, 1 - clean, clean)
    x = offsets.double() + scales.double() * z
    return x[:, columns].float(), y
