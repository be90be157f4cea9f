#!/usr/bin/env python3
"""Second implementation for the Bogacki–Shampine 3(2) tableau (lib/ode/bosh3.ts): scipy's solve_ivp(method="RK23")
on the closed-form problems of rk45_scipy.py. Writes test/fixtures/rk23_scipy.json, read by test/ode-tableaus.test.ts.

    /usr/bin/python3 tools/crosscheck/rk23_scipy.py            # Debian python3-scipy (1.10.1)
"""
import json
import os
import sys

import numpy as np
import scipy
from scipy.integrate import solve_ivp

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rk45_scipy import PROBLEMS  # noqa: E402  (the same problems, by name)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "test", "fixtures", "rk23_scipy.json")
TOLS = [(1e-3, 1e-6), (1e-5, 1e-5), (1e-6, 1e-9)]

if __name__ == "__main__":
    cases = []
    for name, (f, exact, t0, t1, y0) in PROBLEMS.items():
        if name == "decay_short":  # scipy < 1.12 probes outside the interval there; rk45_scipy covers that case
            continue
        for rtol, atol in TOLS:
            sol = solve_ivp(f, (t0, t1), np.array(y0, dtype=float), method="RK23", rtol=rtol, atol=atol)
            assert sol.success, sol.message
            accepted = len(sol.t) - 1
            attempts = (sol.nfev - 2) // 3
            y = sol.y[:, -1]
            cases.append({"problem": name, "rtol": rtol, "atol": atol, "nfev": int(sol.nfev), "n_accepted": accepted,
                          "n_rejected": attempts - accepted, "y_final": y.tolist(),
                          "max_abs_error": float(np.max(np.abs(y - exact(t1, t0, np.array(y0, dtype=float)))))})
    data = {"note": "scipy solve_ivp(method='RK23') on closed-form ODEs; produced by tools/crosscheck/rk23_scipy.py",
            "scipy_version": scipy.__version__, "numpy_version": np.__version__, "python": sys.version.split()[0],
            "cases": cases}
    tmp = OUT + ".tmp"
    with open(tmp, "w") as fh:
        json.dump(data, fh, indent=1)
        fh.write("\n")
    os.replace(tmp, OUT)
    for c in cases:
        print(f"{c['problem']:20s} rtol={c['rtol']:g} atol={c['atol']:g} nfev={c['nfev']} acc={c['n_accepted']} rej={c['n_rejected']} err={c['max_abs_error']:.2e}")
