"""Figures (beside the stack, used by layers 3-5).  Each function returns a Figure."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg") if matplotlib.get_backend().lower() == "agg" else None
from matplotlib.figure import Figure  # noqa: E402


def training_curve(history, *, title: str = "Forward-Forward training") -> Figure:
    """Loss per epoch, and test accuracy where it was measured."""
    fig = Figure(figsize=(7, 4), layout="constrained")
    ax = fig.add_subplot()
    epochs = range(1, len(history.loss) + 1)
    ax.plot(epochs, history.loss, color="tab:blue", label="FF loss (mean over layers)")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss (nats)", color="tab:blue")
    ax.set_title(title)
    if history.test_accuracy:
        ax2 = ax.twinx()
        ax2.plot(history.test_epochs, [100 * a for a in history.test_accuracy], "o-",
                 color="tab:orange", label="test accuracy")  # fmt: skip
        ax2.set_ylabel("test accuracy (%)", color="tab:orange")
    ax.grid(alpha=0.3)
    return fig
