#!/usr/bin/env python3
"""Independent second implementation of the probability-flow log-likelihood, for test/likelihood_crosscheck.test.ts.

NumPy + scipy's solve_ivp(RK45), the official pipeline's solver: state [x (B·2), delta (B)] integrated from eps to T,
logp = prior_logp(z) + delta(T). The score of the reference Gaussian mixture and the divergence of the drift are
written analytically here (no autodiff): with a_k = -C_k^{-1}(x - m mu_k) and responsibilities r_k,
    score = sum_k r_k a_k,   tr(Hessian log p) = sum_k r_k (|a_k|^2 - tr C_k^{-1}) - |score|^2,
    div f~ = D * f_coef(t) - 0.5 g(t)^2 tr(Hessian log p),   f(x,t) = f_coef(t) x.
Two right-hand sides: float64, and float32 (the state cast to float32 and every operation done in float32, as the
official ode_func's `.type(torch.float32)`). Writes test/fixtures/likelihood_scipy.json.

    /usr/bin/python3 tools/crosscheck/likelihood_scipy.py   # Debian python3-scipy 1.10.1 (the official vectors' version)
"""
import json
import math
import os
import sys

import numpy as np
import scipy
from scipy.integrate import solve_ivp

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
REF = os.path.join(ROOT, "test", "fixtures", "official_vectors.json")
OUT = os.path.join(ROOT, "test", "fixtures", "likelihood_scipy.json")

SIGMA_MIN, SIGMA_MAX = 0.01, 50.0
BETA_MIN, BETA_MAX = 0.1, 20.0


def coefficients(kind, t):
    """(m, s, f_coef, g2) at scalar t, in float64."""
    if kind == "VE":
        s = SIGMA_MIN * (SIGMA_MAX / SIGMA_MIN) ** t
        return 1.0, s, 0.0, s * s * 2 * math.log(SIGMA_MAX / SIGMA_MIN)
    lmc = -0.25 * t * t * (BETA_MAX - BETA_MIN) - 0.5 * t * BETA_MIN
    beta = BETA_MIN + t * (BETA_MAX - BETA_MIN)
    m = math.exp(lmc)
    if kind == "VP":
        return m, math.sqrt(-math.expm1(2 * lmc)), -0.5 * beta, beta
    # sub-VP: std = 1 - exp(2 lmc) (the official marginal_prob), g^2 = beta (1 - exp(-2 beta_min t - (beta_max - beta_min) t^2))
    return m, -math.expm1(2 * lmc), -0.5 * beta, beta * -math.expm1(-2 * BETA_MIN * t - (BETA_MAX - BETA_MIN) * t * t)


def log_prior(kind, z):
    D = z.shape[1]
    if kind == "VE":
        return -D / 2 * math.log(2 * math.pi * SIGMA_MAX ** 2) - (z ** 2).sum(1) / (2 * SIGMA_MAX ** 2)
    return -D / 2 * math.log(2 * math.pi) - (z ** 2).sum(1) / 2


def gmm_terms(gmm, x, m, s, dtype):
    """log p_t(x), score, tr Hessian for x [B, d] in the given float dtype."""
    w = np.array(gmm["weights"], dtype=dtype)
    mus = np.array(gmm["means"], dtype=dtype)
    covs = np.array(gmm["covs"], dtype=dtype)
    m, s = dtype(m), dtype(s)
    B, d = x.shape
    logits, a_list = [], []
    eye = np.eye(d, dtype=dtype)
    trinv = []
    for k in range(len(w)):
        C = m * m * covs[k] + s * s * eye
        Ci = np.linalg.inv(C).astype(dtype)
        diff = x - m * mus[k]
        a = -(diff @ Ci)  # C symmetric
        quad = -(diff * a).sum(1)
        _, logdet = np.linalg.slogdet(C)
        logits.append(np.log(w[k]) - dtype(0.5) * (quad + dtype(logdet)) - dtype(0.5 * d * math.log(2 * math.pi)))
        a_list.append(a)
        trinv.append(np.trace(Ci))
    logits = np.stack(logits)  # [K, B]
    mx = logits.max(0)
    lse = mx + np.log(np.exp(logits - mx).sum(0))
    r = np.exp(logits - lse)  # [K, B]
    score = sum(r[k][:, None] * a_list[k] for k in range(len(w)))
    tr_hess = sum(r[k] * ((a_list[k] ** 2).sum(1) - trinv[k]) for k in range(len(w))) - (score ** 2).sum(1)
    return lse, score, tr_hess


def likelihood(kind, gmm, x0, dtype, eps=1e-5, rtol=1e-5, atol=1e-5):
    B, d = x0.shape

    def rhs(t, y):
        x = y[: B * d].reshape(B, d).astype(dtype)
        m, s, fc, g2 = coefficients(kind, t)
        _, score, trh = gmm_terms(gmm, x, m, s, dtype)
        drift = dtype(fc) * x - dtype(0.5 * g2) * score
        div = dtype(d * fc) - dtype(0.5 * g2) * trh
        return np.concatenate([drift.reshape(-1), div]).astype(np.float64)

    y0 = np.concatenate([x0.reshape(-1), np.zeros(B)])
    sol = solve_ivp(rhs, (eps, 1.0), y0, rtol=rtol, atol=atol, method="RK45")
    assert sol.success, sol.message
    yT = sol.y[:, -1]
    z = yT[: B * d].reshape(B, d)
    delta = yT[B * d:]
    logp = log_prior(kind, z) + delta
    # The identity's right-hand side in float64: log p_eps(x) - log p_T(z) + log pi(z).
    lp_eps = gmm_terms(gmm, x0, *coefficients(kind, eps)[:2], np.float64)[0]
    lp_T = gmm_terms(gmm, z, *coefficients(kind, 1.0)[:2], np.float64)[0]
    ident = lp_eps - lp_T + log_prior(kind, z)
    return {"nfev": int(sol.nfev), "logp": logp.tolist(), "z": z.tolist(), "delta_logp": delta.tolist(),
            "identity_max_abs_error": float(np.abs(logp - ident).max()),
            "prior_gap": (lp_T - log_prior(kind, z)).tolist()}


if __name__ == "__main__":
    ref = json.load(open(REF))
    gmm = ref["gmm"]
    x0 = np.array(ref["a_sde_coefficients"]["x"], dtype=np.float64)
    out = {"note": "independent NumPy/scipy probability-flow likelihood of the reference mixture at the section-a points; "
                   "tools/crosscheck/likelihood_scipy.py", "scipy_version": scipy.__version__,
           "numpy_version": np.__version__, "eps": 1e-5, "rtol": 1e-5, "atol": 1e-5, "x": x0.tolist(), "per_sde": {}}
    for kind in ["VE", "VP", "subVP"]:
        out["per_sde"][kind] = {"float64": likelihood(kind, gmm, x0, np.float64),
                                "float32": likelihood(kind, gmm, x0, np.float32)}
        for p in ["float64", "float32"]:
            r = out["per_sde"][kind][p]
            print(f"scipy {scipy.__version__} {kind:5s} {p}: nfev {r['nfev']} identity error {r['identity_max_abs_error']:.2e} "
                  f"logp[0] {r['logp'][0]:.6f} prior gap max {max(map(abs, r['prior_gap'])):.2e}")
    with open(OUT, "w") as fh:
        json.dump(out, fh, indent=1)
        fh.write("\n")
