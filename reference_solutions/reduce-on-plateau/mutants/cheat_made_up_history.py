# Cheat: trains nothing and returns a made-up history: a steadily falling val_loss with a constant
# lr, which is exactly what ReduceLROnPlateau would give for such losses, so a check that only
# compares the reported lrs with the reported losses is satisfied. Nothing here is honest work.
# harness: max-score = 0
"""Cheat mutant: a made-up, self-consistent history from a fit() that trains nothing."""


def fit(model, train_loader, val_loader, epochs, lr):
    return [{"epoch": e, "train_loss": 1.0 / (e + 1), "val_loss": 1.0 / (e + 1), "lr": float(lr)} for e in range(epochs)]
