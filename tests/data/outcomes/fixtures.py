"""Expected values of src/outcomes/stats.rs, computed with statsmodels and scipy (independent
implementations). Run: python3 tests/data/outcomes/fixtures.py > tests/data/outcomes/fixtures.json
(statsmodels 0.15.0, scipy as installed with it)."""
import json, math, warnings
import numpy as np
from scipy import stats
from scipy.optimize import brentq
from statsmodels.stats.proportion import confint_proportions_2indep, proportions_ztest, power_proportions_2indep
from statsmodels.stats.multitest import multipletests

warnings.simplefilter("ignore")
# (treatment recovered, treatment n, holdout recovered, holdout n): ordinary, tiny arms, zero
# counts, rates of 0 and of 1, lopsided arms.
cases = [
    (120, 1000, 24, 300), (45, 500, 40, 500), (0, 50, 0, 20), (3, 3, 1, 4), (0, 10, 2, 10),
    (10, 10, 10, 10), (7, 7, 0, 5), (1, 2, 0, 1), (250, 2700, 20, 300), (5, 40, 9, 40),
    (1000, 9000, 80, 1000), (30, 31, 28, 31),
]
out = {"proportions": [], "holm": [], "sample_ratio": [], "mde": []}
for x1, n1, x2, n2 in cases:
    low, high = confint_proportions_2indep(x1, n1, x2, n2, method="newcomb", compare="diff", alpha=0.05)
    z, p = proportions_ztest([x1, x2], [n1, n2])
    pooled = (x1 + x2) / (n1 + n2)
    if pooled in (0.0, 1.0):
        z, p = 0.0, 1.0  # statsmodels gives NaN without variation; cartsona defines no evidence
    out["proportions"].append({"x1": x1, "n1": n1, "x2": x2, "n2": n2,
                               "newcombe": [low, high], "z": float(z), "p": float(p)})
for ps in [[0.01, 0.04, 0.03], [0.2, 0.001, 0.049, 0.5, 0.0125], [0.9], [0.04, 0.04, 0.04, 0.04], [1e-6, 0.3, 0.02, 0.02]]:
    out["holm"].append({"p": ps, "adjusted": list(multipletests(ps, alpha=0.05, method="holm")[1])})
for t, h, share in [(900, 100, 0.1), (950, 50, 0.1), (700, 300, 0.25), (2600, 400, 0.15), (10, 0, 0.1), (50000, 5400, 0.1)]:
    n = t + h
    r = stats.chisquare([t, h], f_exp=[n * (1 - share), n * share])
    out["sample_ratio"].append({"treatment": t, "holdout": h, "share": share, "stat": float(r.statistic), "p": float(r.pvalue)})
# The MDE as the verdict sees it: the uplift the pooled z-test calls a win (one tail: a win needs
# a positive difference) with 80% power at Holm's first-step level 0.05 / family, by statsmodels'
# power of the two-proportion test (pooled null SE, unpooled alternative SE), solved with brentq.
for p, nt, nh, family in [(0.08, 1000, 300, 1), (0.08, 480, 120, 5), (0.0, 2700, 300, 1), (0.5, 100, 100, 3),
                          (0.02, 50000, 5000, 1), (0.02, 2400, 600, 6), (0.12, 480, 120, 5), (1.0, 10, 10, 1)]:
    q = min(max(p, 1 / nh), 1.0)
    def gap(d):
        r = power_proportions_2indep(d, q, nt, ratio=nh / nt, alpha=0.05 / family / 2, alternative="larger")
        return r.power - 0.8
    mde = None if q >= 1.0 or gap(1.0 - q - 1e-12) < 0 else float(brentq(gap, 1e-12, 1.0 - q - 1e-12, xtol=1e-13))
    out["mde"].append({"holdout_rate": p, "n_t": nt, "n_h": nh, "family": family, "mde": mde})
# Welch's interval of the incremental revenue: (mean_t - mean_h) x n_t, by scipy's
# ttest_ind(equal_var=False).confidence_interval(), and its two-sided p-value (the test of one
# variant against the reminder); arms as (n, revenues of the recovered).
out["welch"] = []
for nt, rt, nh, rh in [(10, [50.0, 80.0], 5, [40.0]), (400, [55.0, 210.0, 90.5, 12.0, 300.0, 75.0], 120, [60.0, 35.5]),
                       (30, [20.0] * 5, 12, [20.0, 30.0, 500.0]), (7, [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0], 3, []),
                       (2000, [80.0, 95.5, 120.0] * 60, 2000, [70.0, 88.0] * 40)]:
    xt = np.array(rt + [0.0] * (nt - len(rt))); xh = np.array(rh + [0.0] * (nh - len(rh)))
    r = stats.ttest_ind(xt, xh, equal_var=False)
    ci = r.confidence_interval(0.95)
    p = float(r.pvalue) if np.isfinite(r.pvalue) else 1.0  # no spread in either arm: no evidence
    out["welch"].append({"n_t": nt, "t": rt, "n_h": nh, "h": rh, "ci": [float(ci.low) * nt, float(ci.high) * nt], "p": p})
print(json.dumps(out, indent=1))
