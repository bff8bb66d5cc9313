"""Generate tests/data/engine_regression.json: double-precision results of ridge.risk,
ridge.spectrum_risk, random_features.risk and kernel_ridge.risk on fixed grids, as computed by the
code of main at commit bfb6ac1 (before the accuracy-contract work of issue 12). The regression test
tests/test_accuracy.py::test_stored_values_unchanged requires every stored finite value to be
reproduced to 1e-13 relative (and inf/inf, and the same set of solved points).

Run from the repository root:  python tests/data/make_engine_regression.py
"""
import json
import subprocess

import numpy as np

from asymptotics.models import kernel_ridge, random_features as rf, ridge


def _enc(v):
    v = float(v)
    return v if np.isfinite(v) else repr(v)  # 'inf', '-inf', 'nan' as strings (JSON has none)


def _solve(fn, params, outputs):
    """The grid in one call; if the old engine raises for the whole grid (issue 12: one bad point lost
    every point), point by point, recording the points that raise as unsolved ("error")."""
    try:
        return _table(fn(**params), params, outputs)
    except Exception:
        shape = np.broadcast_shapes(*(np.shape(v) for v in params.values()))
        flat = {k: np.broadcast_to(np.asarray(v, dtype=float), shape).ravel() for k, v in params.items()}
        recs = []
        for i in range(int(np.prod(shape))):
            pi = {k: float(v[i]) for k, v in flat.items()}
            try:
                recs += _table(fn(**pi), pi, outputs)
            except Exception as e:
                recs.append({"params": {k: _enc(v) for k, v in pi.items()}, "converged": False,
                             "outputs": {k: None for k in outputs}, "error": str(e)[:200]})
        return recs


def _table(sol, params, outputs):
    recs = []
    conv = np.broadcast_to(np.asarray(sol.converged), sol.shape).ravel()
    flatp = {k: np.broadcast_to(np.asarray(v, dtype=float), sol.shape).ravel() for k, v in params.items()}
    flato = {k: np.ma.filled(np.ma.asarray(sol.outputs[k]).astype(float), np.nan).ravel() for k in outputs}
    for i in range(conv.size):
        recs.append({"params": {k: _enc(v[i]) for k, v in flatp.items()},
                     "converged": bool(conv[i]),
                     "outputs": {k: _enc(v[i]) if conv[i] else None for k, v in flato.items()}})
    return recs


def main():
    out = {"commit": subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()}
    # ridge, isotropic: a full grid including the threshold and lam = 0
    G, L, R2, S2 = np.meshgrid([0.1, 0.5, 0.9, 0.99, 1.0, 1.01, 1.5, 2.0, 5.0, 10.0],
                               [0.0, 1e-6, 1e-3, 0.1, 1.0, 10.0], [0.0, 1.0, 2.5], [0.0, 0.5, 1.0],
                               indexing="ij")
    out["ridge"] = _solve(lambda **p: ridge.risk(**p, errors="mask"), {"gamma": G, "lam": L, "r2": R2, "sigma2": S2},
                          ["risk", "bias", "variance", "risk_total", "df1_over_n", "df2_over_n"])
    # ridge, general spectrum
    rng = np.random.default_rng(12)
    spectra = {
        "power1": (ridge.power_law(50, 1.0), np.full(50, 1 / 50)),
        "power2": (ridge.power_law(200, 2.0), ridge.power_law(200, 1.0)),
        "spiked": (ridge.spiked(80, [20.0, 5.0]), np.r_[1.0, 0.5, np.zeros(78)]),
        "mp": (ridge.marchenko_pastur(100, 0.3), rng.uniform(0, 0.02, 100)),
        "random": (rng.uniform(0.01, 3.0, 40), rng.uniform(0, 0.1, 40)),
    }
    out["ridge_spectrum"] = {}
    for name, (e, b2) in spectra.items():
        d = e.size
        N, L, S2 = np.meshgrid(np.unique(np.array([3.0, 0.2 * d, 0.9 * d, d - 1, d, d + 1, 1.5 * d, 4 * d])),
                               [0.0, 1e-4, 0.1, 1.0], [0.0, 0.7], indexing="ij")
        out["ridge_spectrum"][name] = {"eigs": e.tolist(), "beta2": b2.tolist(), "table": _solve(
            lambda **p: ridge.spectrum_risk(e, b2, **p, errors="mask"), {"n": N, "lam": L, "sigma2": S2},
            ["risk", "bias", "variance", "risk_total", "df1", "df2"])}
    # random features: three activations' constants, a grid
    out["rf"] = {}
    for act in ["relu", "tanh", (0.5, 0.3)]:
        if isinstance(act, str):
            _, m1, ms = rf.activation_constants(act)
            key = act
        else:
            m1, ms = act
            key = "mu1=0.5,mu_star=0.3"
        P1, P2, L, F, Fs, T = np.meshgrid([0.2, 0.5, 0.99, 1.0, 1.5, 3.0, 10.0], [0.3, 1.0, 2.0, 5.0],
                                          [0.0, 1e-4, 1e-2, 1.0], [1.0], [0.0, 0.3], [0.0, 0.2],
                                          indexing="ij")
        out["rf"][key] = {"mu1": m1, "mu_star": ms, "table": _solve(
            lambda **p: rf.risk(**p, mu1=m1, mu_star=ms, errors="mask"),
            {"psi1": P1, "psi2": P2, "lam": L, "F1sq": F, "Fstar_sq": Fs, "tau2": T},
            ["risk", "bias", "variance", "chi"])}
    # kernel ridge (same engine, traces with multiplicities)
    eigs, mult, energy = [1.0, 0.3, 0.05, 0.01], [1, 5, 15, 35], [0.2, 1.0, 0.5, 0.1]
    N, L, S2 = np.meshgrid([2.0, 6.0, 20.0, 55.0, 56.0, 100.0], [0.0, 1e-3, 0.1], [0.0, 0.3], indexing="ij")
    out["kernel_ridge"] = {"eigs": eigs, "mult": mult, "energy": energy, "table": _solve(
        lambda **p: kernel_ridge.risk(eigs, mult, energy, **p, errors="mask"), {"n": N, "lam": L, "sigma2": S2},
        ["risk", "bias", "variance", "df1", "df2"])}
    with open("tests/data/engine_regression.json", "w") as f:
        json.dump(out, f, separators=(",", ":"))


if __name__ == "__main__":
    main()
