"""Expected values of src/propensity/{logistic,metrics}.rs from scikit-learn and numpy
(independent implementations). Run:
    python3 tests/data/propensity/fixtures.py > tests/data/propensity/fixtures.json
(scikit-learn 1.9.1, numpy 2.4.6 when written). Design matrices are rounded to 4 decimals and
stored, so the Rust test reads exactly the numbers scikit-learn saw."""
import json, warnings
import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score, brier_score_loss

warnings.simplefilter("ignore")
rng = np.random.default_rng(20)


def design(n, p, base, scale, rare=False):
    x = np.round(rng.normal(size=(n, p)), 4)
    if p > 2:
        x[:, 2] = np.round(0.8 * x[:, 0] + 0.2 * x[:, 2], 4)  # correlated columns
    w = rng.normal(scale=scale, size=p)
    z = base + x @ w
    y = rng.random(n) < 1 / (1 + np.exp(-z))
    if rare:
        y[:3] = True  # keep a few positives however rare
    return x, y


fits = []
# (rows, features, intercept, coefficient scale, C): ordinary, strong and weak penalties,
# rare positives (about 3%), unpenalised, many features.
for n, p, base, scale, c in [(500, 4, -0.5, 1.0, 1.0), (1200, 8, -1.0, 0.7, 0.1),
                             (300, 3, 0.2, 2.0, 0.01), (3000, 3, -4.0, 0.8, 10.0),
                             (800, 3, -0.3, 1.0, None), (800, 10, -2.0, 0.5, 0.5)]:
    x, y = design(n, p, base, scale)
    if c is None:
        m = LogisticRegression(penalty=None, solver="newton-cholesky", tol=1e-12, max_iter=1000)
    else:
        m = LogisticRegression(C=c, solver="newton-cholesky", tol=1e-12, max_iter=1000)
    m.fit(x, y)
    fits.append({"x": x.tolist(), "y": y.astype(int).tolist(), "c": c,
                 "intercept": float(m.intercept_[0]), "coefficients": m.coef_[0].tolist()})


def ece_bins(p, y, bins=10):
    order = np.lexsort((np.arange(len(p)), p))  # by probability, index breaking ties
    parts = np.array_split(order, bins)
    rows = [{"rows": len(g), "low": float(p[g].min()), "high": float(p[g].max()),
             "mean_predicted": float(p[g].mean()), "observed": float(y[g].mean())}
            for g in parts if len(g)]
    ece = sum(r["rows"] / len(p) * abs(r["mean_predicted"] - r["observed"]) for r in rows)
    return rows, float(ece)


def lift(p, y):
    order = np.lexsort((np.arange(len(p)), p))[::-1]  # highest first (reversed ascending order)
    total, rate, found, out = y.sum(), y.mean(), 0, []
    for d, g in enumerate(np.array_split(order, 10)):
        if not len(g):
            continue
        found += y[g].sum()
        out.append({"decile": d + 1, "rows": len(g), "returned": int(y[g].sum()),
                    "lift": float(y[g].mean() / rate), "captured": float(found / total)})
    return out


scores = []
for n, ties in [(1000, False), (537, True), (23, True), (2500, False)]:
    p = rng.beta(1.2, 4.0, size=n)
    if ties:
        p = np.round(p, 2)  # many tied scores
    p = np.round(p, 6)
    y = rng.random(n) < np.clip(p * 1.3, 0, 1)
    bins, ece = ece_bins(p, y)
    rate = y.mean()
    # Platt scaling: unpenalised logistic regression on the clamped log-odds.
    q = np.clip(p, 1e-12, 1 - 1e-12)
    platt = LogisticRegression(penalty=None, solver="newton-cholesky", tol=1e-12, max_iter=1000)
    platt.fit(np.log(q / (1 - q)).reshape(-1, 1), y)
    scores.append({"p": p.tolist(), "y": y.astype(int).tolist(),
                   "auc": float(roc_auc_score(y, p)), "brier": float(brier_score_loss(y, p)),
                   "brier_skill": float(1 - brier_score_loss(y, p) / (rate * (1 - rate))),
                   "ece": ece, "bins": bins, "lift": lift(p, y),
                   "platt": {"slope": float(platt.coef_[0][0]),
                             "intercept": float(platt.intercept_[0])}})

print(json.dumps({"fits": fits, "scores": scores}))
