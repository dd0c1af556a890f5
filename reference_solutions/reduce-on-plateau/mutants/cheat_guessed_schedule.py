# Cheat: trains nothing. It reports made-up validation losses that rise after the first epoch and
# the lrs torch's ReduceLROnPlateau gives for them (lr for 4 epochs, then halved every 3): the
# usual pattern when the validation targets are noise, so it may also match the grader's
# plateau task without ever looking at the data. Nothing here is honest work.
# harness: max-score = 0
"""Cheat mutant: a guessed plateau schedule with made-up, consistent losses."""


def fit(model, train_loader, val_loader, epochs, lr):
    history, current = [], float(lr)
    for epoch in range(epochs):
        if epoch >= 4 and (epoch - 4) % 3 == 0:
            current *= 0.5
        history.append({"epoch": epoch, "train_loss": 1.0 / (epoch + 1), "val_loss": 1.0 + 0.1 * epoch, "lr": current})
    return history
