"""Stacked ensembles across model families, fitted on validation pairs only.

A stack is a run spec of kind ``"stack"`` (a preset with a ``stack`` list of member names, see
:data:`grnlib.evaluation.presets.PRESETS`). :func:`grnlib.evaluation.experiment.evaluate_split`
scores every member first (each is also reported on its own), then :func:`fit_stack` fits a
logistic regression of the validation labels on the members' standardised validation scores with
**non-negative weights**; the test score is its logit. Test labels never enter.

Members enter on the scale they are evaluated on: a model whose prior correction applies
(:mod:`grnlib.evaluation.correction`) enters with its per-TF offsets, and the stack's logit is not
corrected again. Validation is drawn like test (:mod:`grnlib.evaluation.protocols`, released
``validation="rows"``), so the weights are fitted on the population that is ranked, and the logistic
fit calibrates each member's logit scale against the floors there (a blend ``floor + w * model``).
Weights are bounded below by 0: a member that does not help gets ``w = 0``, so a stack of the floors
and a model can fall back to the floors alone (issue 18: "able to fall back to the floor"). A stack
whose only positive weights are floors' says so (:attr:`FittedStack.floor_only`).

The validation metrics of a stack (``val_auroc``, the decision threshold) come from 5-fold
cross-fitted validation scores, so choosing on validation does not favour the stack for having
seen the validation labels. Aliases are chosen on nested validation instead (:func:`nested_stack`,
:mod:`grnlib.evaluation.nested`), which ranks stacks and single models on one footing. The stack's cost (``seconds``) is its members' seconds plus its fit.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

N_FOLDS = 5
FLOORS = ("degree", "edge_prior")


@dataclass
class FittedStack:
    """A stack's fitted blend: ``logit = intercept + sum_k weights[k] * (score_k - mean[k]) / scale[k]``.

    Plain numbers (JSON in a model folder, :mod:`grnlib.user.model`)."""

    members: list
    weights: np.ndarray
    intercept: float
    mean: np.ndarray
    scale: np.ndarray

    def decision(self, scores: list) -> np.ndarray:
        """The stacked logit of member scores (one vector per member, in ``members`` order)."""
        x = np.column_stack([np.asarray(s, dtype=np.float64) for s in scores])
        return self.intercept + ((x - self.mean) / self.scale) @ self.weights

    @property
    def floor_only(self) -> bool:
        """True when every member with a positive weight is a floor: the stack ranks like the floors."""
        return all(w <= 0 or m in FLOORS for m, w in zip(self.members, self.weights))

    def to_dict(self) -> dict:
        return {"members": list(self.members), "weights": [float(w) for w in self.weights],
                "intercept": float(self.intercept), "mean": [float(m) for m in self.mean],
                "scale": [float(s) for s in self.scale]}

    @classmethod
    def from_dict(cls, data: dict) -> "FittedStack":
        return cls(members=list(data["members"]), weights=np.asarray(data["weights"], np.float64),
                   intercept=float(data["intercept"]), mean=np.asarray(data["mean"], np.float64),
                   scale=np.asarray(data["scale"], np.float64))


def _nonnegative_logistic(x: np.ndarray, y: np.ndarray, c: float) -> tuple[np.ndarray, float]:
    """Weights >= 0 and a free intercept minimising ``c * sum(log-loss) + ||w||^2 / 2`` (scikit-learn's
    convention for ``C``), by bounded L-BFGS."""
    from scipy.optimize import minimize
    from scipy.special import expit

    k = x.shape[1]

    def loss(theta):
        z = theta[0] + x @ theta[1:]
        # log(1 + e^z) - y z, stable for large |z|
        value = c * float(np.sum(np.logaddexp(0.0, z) - y * z)) + 0.5 * float(theta[1:] @ theta[1:])
        residual = expit(z) - y
        grad = np.r_[c * residual.sum(), c * (x.T @ residual) + theta[1:]]
        return value, grad

    rate = np.clip(y.mean(), 1e-6, 1 - 1e-6)
    start = np.r_[np.log(rate / (1 - rate)), np.zeros(k)]
    fitted = minimize(loss, start, jac=True, method="L-BFGS-B", bounds=[(None, None)] + [(0.0, None)] * k,
                      options={"maxiter": 1000})
    return fitted.x[1:], float(fitted.x[0])


def _fit(x: np.ndarray, y: np.ndarray, c: float, members) -> FittedStack:
    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale = np.where(scale > 0, scale, 1.0)
    if len(np.unique(y)) < 2:
        return FittedStack(list(members), np.zeros(x.shape[1]), 0.0, mean, scale)
    weights, intercept = _nonnegative_logistic((x - mean) / scale, y.astype(np.float64), c)
    return FittedStack(list(members), weights, intercept, mean, scale)


def fit_stack(y_val, val_scores: list, test_scores: list | None = None, c: float = 1.0, seed: int = 0,
              members=None) -> dict:
    """Stack member scores with a non-negative logistic regression fitted on validation pairs.

    Args:
        y_val: [n_val] validation labels.
        val_scores, test_scores: one [n_val] / [n_test] score vector per member (same order);
            ``test_scores`` may be None (a stack trained for later scoring).
        c: inverse L2 strength of the logistic regression.
        seed: seeds the cross-fitting folds.
        members: member names (for :attr:`FittedStack.floor_only`); default ``m0, m1, ...``.

    Returns:
        dict(test = [n_test] stacked logits (fitted on all validation pairs; None without test scores),
        val = [n_val] cross-fitted validation logits (each pair scored by a fit without it),
        weights = [k] coefficients (>= 0) on the standardised members, intercept, fitted = the
        :class:`FittedStack` of all validation pairs).
    """
    y = np.asarray(y_val, dtype=np.int64)
    members = list(members) if members is not None else [f"m{k}" for k in range(len(val_scores))]
    x_val = np.column_stack([np.asarray(s, dtype=np.float64) for s in val_scores])
    full = _fit(x_val, y, c, members)
    oof = np.zeros(len(y))
    rng = np.random.default_rng(seed)
    folds = np.empty(len(y), dtype=np.int64)
    for label in (0, 1):  # stratified: every fold keeps both classes where possible
        where = np.flatnonzero(y == label)
        folds[where] = rng.permutation(where.size) % N_FOLDS
    for k in range(N_FOLDS):
        held = folds == k
        if held.any():
            oof[held] = _fit(x_val[~held], y[~held], c, members).decision(list(x_val[held].T))
    test = full.decision(test_scores) if test_scores is not None else None
    return {"test": test, "val": oof, "weights": full.weights, "intercept": full.intercept, "fitted": full}


def nested_stack(y_val, half_a: np.ndarray, member_chosen: list, c: float = 1.0, members=None):
    """A stack's two nested-validation vectors (:mod:`grnlib.evaluation.nested`): for each half, the blend
    fitted on that half's pairs from the members' scores chosen on it, applied to every validation pair.
    ``member_chosen``: one ``(chosen on A, chosen on B)`` pair per member; None when a member has none."""
    if any(chosen is None for chosen in member_chosen):
        return None
    y = np.asarray(y_val, dtype=np.int64)
    members = list(members) if members is not None else [f"m{k}" for k in range(len(member_chosen))]
    out = []
    for k, mask in enumerate((half_a, ~half_a)):
        x = np.column_stack([np.asarray(chosen[k], dtype=np.float64) for chosen in member_chosen])
        out.append(_fit(x[mask], y[mask], c, members).decision(list(x.T)))
    return tuple(out)


SAVEABLE_BASELINES = ("degree", "edge_prior")


def stacked_model(spec: dict, ds, split: dict, evaluation, seed: int = 0):
    """The stack ``spec`` of an :class:`~grnlib.evaluation.experiment.Evaluation` as one model that
    ``grnlib predict`` can rank with (:class:`grnlib.models.stacked.StackedModel`): the floors from the
    training positives, the trained members with the prior-correction offsets they were evaluated with,
    and the blend fitted on validation. Returns ``(model, trained)``: ``trained`` is the first trained
    member's :class:`~grnlib.evaluation.experiment.TrainedRun` (its feature recipe and features are every
    model member's; members reading different features cannot share a model folder)."""
    from grnlib.errors import DataError
    from grnlib.evaluation.baselines import fitted_edge_prior
    from grnlib.evaluation.experiment import applied_correction
    from grnlib.models.floors import positive_edges
    from grnlib.models.stacked import StackedModel

    fitted = evaluation.stacks[spec.name]
    member_specs = spec.members
    other = [m.name for m in member_specs if m.kind == "baseline" and m.model not in SAVEABLE_BASELINES]
    if other:
        raise DataError(None, f"stack {spec.name!r} has baseline member(s) {other} that a model folder cannot hold",
                        f"use stacks whose baselines are {SAVEABLE_BASELINES}")
    trained = [evaluation.trained[m.name] for m in member_specs if m.kind != "baseline"]
    recipes = {None if t.recipe is None else repr(t.recipe.describe()) for t in trained if t.recipe is not None}
    with_features = [t for t in trained if t.features is not None]
    if len(recipes) > 1 or any(not np.array_equal(t.features, with_features[0].features) for t in with_features):
        raise DataError(None, f"the members of stack {spec.name!r} read different expression features",
                        "stack members that share one feature recipe")
    members = [{"name": m.model} if m.kind == "baseline" else {"name": m.name, "model": t.model.config}
               for m, t in zip(member_specs, _aligned(member_specs, trained))]
    in_features = with_features[0].features.shape[1] if with_features else None
    model = StackedModel(members, fitted.to_dict() | {"members": [m["name"] for m in members]}, ds.n_genes,
                         in_features)
    for k, t in enumerate(trained):
        model.members[k].load_state_dict(t.model.state_dict())
    edges = positive_edges(split["train"])
    prior = fitted_edge_prior(ds, split["train"], seed) if "edge_prior" in fitted.members else None
    model.set_floors(np.bincount(edges[0], minlength=ds.n_genes), np.bincount(edges[1], minlength=ds.n_genes), prior)
    for k, m in enumerate(s for s in member_specs if s.kind != "baseline"):
        correction = applied_correction(m, ds, split)
        if correction is not None:
            model.set_offsets(k, correction.offsets)
    return model.eval(), (with_features[0] if with_features else trained[0] if trained else None)


def _aligned(member_specs, trained):
    """``trained`` spread over ``member_specs`` (None at the baselines)."""
    it = iter(trained)
    return [None if m.kind == "baseline" else next(it) for m in member_specs]
