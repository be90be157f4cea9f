#!/usr/bin/env python3
"""Second implementation for lib/ode/rk45.ts: scipy's solve_ivp(method="RK45") on ODEs with closed-form solutions.

Writes test/fixtures/rk45_scipy.json, which test/rk45.test.ts reads to compare our nfev / step counts / final
states with scipy's, number for number. Run with Debian's python3-scipy (the version the official score_sde vectors
were made with, 1.10.1) and, if present, a newer scipy (>= 1.12 clamps the initial-step probe to the interval):

    /usr/bin/python3 tools/crosscheck/rk45_scipy.py            # Debian python3-scipy
    python3 tools/crosscheck/rk45_scipy.py --merge             # another interpreter, appended to the same file

The problems are defined here and, identically, in the test (by name); keep them in sync.
"""
import json
import math
import os
import sys

import numpy as np
import scipy
from scipy.integrate import solve_ivp

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "test", "fixtures", "rk45_scipy.json")

RATES = np.array([0.5, 2.0, 5.0])
OMEGA = 2.0
R, CAP = 1.5, 10.0


def decay(t, y):
    return -RATES * y


def decay_exact(t, t0, y0):
    return y0 * np.exp(-RATES * (t - t0))


def oscillator(t, y):
    return np.array([y[1], -OMEGA * OMEGA * y[0]])


def oscillator_exact(t, t0, y0):
    c, s = math.cos(OMEGA * (t - t0)), math.sin(OMEGA * (t - t0))
    return np.array([y0[0] * c + y0[1] / OMEGA * s, -y0[0] * OMEGA * s + y0[1] * c])


def logistic(t, y):
    return R * y * (1 - y / CAP)


def logistic_exact(t, t0, y0):
    e = np.exp(R * (t - t0))
    return CAP * y0 * e / (CAP + y0 * (e - 1))


PROBLEMS = {
    # name: (rhs, exact, t0, t1, y0)
    "decay": (decay, decay_exact, 0.0, 3.0, [1.0, -2.0, 0.5]),
    "oscillator": (oscillator, oscillator_exact, 0.0, 10.0, [1.0, 0.0]),
    "logistic": (logistic, logistic_exact, 0.0, 8.0, [0.1]),
    "logistic_backward": (logistic, logistic_exact, 8.0, 0.0, [9.0]),
    "oscillator_backward": (oscillator, oscillator_exact, 5.0, -1.0, [0.3, -1.2]),
    # An interval shorter than the initial-step probe: the one place scipy 1.10 and >= 1.12 differ.
    "decay_short": (decay, decay_exact, 0.0, 1e-3, [1.0, -2.0, 0.5]),
}
TOLS = [(1e-3, 1e-6), (1e-5, 1e-5), (1e-6, 1e-9), (1e-8, 1e-10)]


def run():
    cases = []
    for name, (f, exact, t0, t1, y0) in PROBLEMS.items():
        for rtol, atol in TOLS:
            sol = solve_ivp(f, (t0, t1), np.array(y0, dtype=float), method="RK45", rtol=rtol, atol=atol)
            assert sol.success, sol.message
            y = sol.y[:, -1]
            ye = exact(t1, t0, np.array(y0, dtype=float))
            accepted = len(sol.t) - 1
            attempts = (sol.nfev - 2) // 6
            cases.append({
                "problem": name, "rtol": rtol, "atol": atol, "nfev": int(sol.nfev),
                "n_accepted": accepted, "n_rejected": attempts - accepted,
                "y_final": y.tolist(), "max_abs_error": float(np.max(np.abs(y - ye))),
            })
    # Per-component atol.
    sol = solve_ivp(decay, (0.0, 3.0), np.array([1.0, -2.0, 0.5]), method="RK45", rtol=1e-6, atol=[1e-9, 1e-6, 1e-3])
    cases.append({"problem": "decay", "rtol": 1e-6, "atol": [1e-9, 1e-6, 1e-3], "nfev": int(sol.nfev),
                  "n_accepted": len(sol.t) - 1, "n_rejected": (sol.nfev - 2) // 6 - (len(sol.t) - 1),
                  "y_final": sol.y[:, -1].tolist(), "max_abs_error": float(np.max(np.abs(sol.y[:, -1] - decay_exact(3.0, 0.0, np.array([1.0, -2.0, 0.5])))))})
    return {"scipy_version": scipy.__version__, "numpy_version": np.__version__,
            "python": sys.version.split()[0], "cases": cases}


if __name__ == "__main__":
    res = run()
    data = {"note": "scipy solve_ivp(method='RK45') on closed-form ODEs; produced by tools/crosscheck/rk45_scipy.py", "runs": []}
    if "--merge" in sys.argv and os.path.exists(OUT):
        with open(OUT) as fh:
            data = json.load(fh)
        data["runs"] = [r for r in data["runs"] if r["scipy_version"] != res["scipy_version"]]
    data["runs"].append(res)
    with open(OUT, "w") as fh:
        json.dump(data, fh, indent=1)
        fh.write("\n")
    for c in res["cases"]:
        print(f"scipy {res['scipy_version']} {c['problem']:20s} rtol={c['rtol']:g} atol={c['atol']} nfev={c['nfev']} acc={c['n_accepted']} rej={c['n_rejected']} err={c['max_abs_error']:.2e}")
