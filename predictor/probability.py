"""The analysis's probability that a task length-generalizes: a logistic model over a few
deterministic features of the analysis, fitted on a training suite of tasks with published
outcomes and tested on tasks never used to fit it (docs/analysis.md has both tables).

The candidate features (`Features`), the two the issue names (membership, and a size term that is
what a Transformer needs), fixed before any fit:

- `member`: the program (or the shortest equivalent program the search found) lies in
  C-RASP[periodic, local] (Huang et al., ICLR 2025), 1 or 0;
- `attention_layers`: the longest chain of attention operations (aggregates, selector widths)
  from the input to the output, the layers a Transformer needs at least (in place of tracr's
  residual width or a raw operation count).

`select` fits an L2-penalised logistic regression (scipy's L-BFGS; the penalty is a Gaussian prior
on each weight, none on the bias, so a feature that separates the training tasks keeps a finite
weight) for each feature set and penalty in a small grid, and keeps the one with the lowest
leave-one-out log-loss **on the training suite** (the simpler model on a tie); the held-out tasks
never enter the choice. The chosen model lives in `probability.json` beside this file, with the
tasks it was fitted on and where their outcomes come from; `bench/validate_predictor.py` rewrites
it when asked to refit.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import networkx as nx

from rasp.language.files import write_text
from rasp.language.sops import Operation

FITTED = Path(__file__).with_name("probability.json")
ATTENTION = (Operation.AGGREGATE, Operation.SELECTOR_WIDTH)


@dataclass(frozen=True)
class Features:
    member: int
    attention_layers: int


FEATURE_SETS = (("member",), ("member", "attention_layers"))
PENALTIES = (0.01, 0.1, 1.0, 10.0)


@dataclass(frozen=True)
class Model:
    """A fitted logistic model: P(generalizes) = sigmoid(bias + weights . features)."""

    features: tuple[str, ...]  # the names of the Features fields it reads
    weights: tuple[float, ...]
    bias: float
    penalty: float
    fitted_on: tuple[str, ...]  # the training tasks, by name
    source: str  # where their outcomes come from
    loo_log_loss: float | None = None  # the leave-one-out log-loss on the training tasks that chose it

    def probability(self, features: Features) -> float:
        z = self.bias + sum(w * getattr(features, name) for name, w in zip(self.features, self.weights))
        return 1.0 / (1.0 + math.exp(-z))

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


Row = tuple[str, Features, bool]  # a task, its features, whether it generalizes


def attention_layers(graph: nx.DiGraph) -> int:
    """The most attention operations on one path through the program graph."""
    depth: dict[Any, int] = {}
    for node in nx.topological_sort(graph):
        before = max((depth[p] for p in graph.predecessors(node)), default=0)
        depth[node] = before + (graph.nodes[node]["kind"] in ATTENTION)
    return max(depth.values(), default=0)


def fit(rows: list[Row], source: str, names: tuple[str, ...] = FEATURE_SETS[0],
        penalty: float = PENALTIES[0]) -> Model:
    """The penalised maximum-likelihood fit on these rows, reading the named features."""
    import numpy as np
    from scipy.optimize import minimize

    x = np.array([[float(getattr(f, name)) for name in names] for _, f, _ in rows])
    y = np.array([float(g) for _, _, g in rows])

    def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
        z = theta[0] + x @ theta[1:]
        p = 1.0 / (1.0 + np.exp(-z))
        nll = float(np.sum(np.logaddexp(0.0, z) - y * z)) + 0.5 * penalty * float(theta[1:] @ theta[1:])
        grad = np.concatenate([[np.sum(p - y)], x.T @ (p - y) + penalty * theta[1:]])
        return nll, grad

    solved = minimize(loss, np.zeros(len(names) + 1), jac=True, method="L-BFGS-B", options={"gtol": 1e-10})
    theta = [round(float(v), 6) for v in solved.x]
    return Model(tuple(names), tuple(theta[1:]), theta[0], penalty, tuple(name for name, _, _ in rows), source)


def loo_log_loss(rows: list[Row], names: tuple[str, ...], penalty: float) -> float:
    """The mean log-loss of each row under a model fitted on all the other rows."""
    total = 0.0
    for k, (_, features, generalizes) in enumerate(rows):
        p = fit(rows[:k] + rows[k + 1:], "", names, penalty).probability(features)
        total -= math.log(max(1e-12, p if generalizes else 1.0 - p))
    return total / len(rows)


def candidates(rows: list[Row]) -> list[tuple[tuple[str, ...], float, float]]:
    """Every feature set and penalty with its leave-one-out log-loss on these rows."""
    return [(names, penalty, round(loo_log_loss(rows, names, penalty), 6))
            for names in FEATURE_SETS for penalty in PENALTIES]


def select(rows: list[Row], source: str, scored: list[tuple[tuple[str, ...], float, float]] | None = None) -> Model:
    """The feature set and penalty with the lowest leave-one-out log-loss on these rows (from
    `scored`, their `candidates`, when the caller has them), fitted on all of them (ties go to the
    fewer features, then the larger penalty)."""
    names, penalty, loss = min(scored or candidates(rows), key=lambda c: (c[2], len(c[0]), -c[1]))
    model = fit(rows, source, names, penalty)
    return Model(model.features, model.weights, model.bias, model.penalty, model.fitted_on, source, loss)


def save(model: Model, path: Path = FITTED) -> None:
    """Write the model as JSON, atomically."""
    write_text(path, json.dumps(model.as_dict(), indent=2) + "\n")


def load(path: Path = FITTED) -> Model:
    data = json.loads(path.read_text())
    return Model(tuple(data["features"]), tuple(data["weights"]), data["bias"], data["penalty"],
                 tuple(data["fitted_on"]), data["source"], data.get("loo_log_loss"))


MODEL = load()
