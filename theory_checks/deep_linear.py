"""Deep linear networks trained layer by layer, against the end-to-end theory.

The finite-size mirror of :mod:`asymptotics.models.deep_linear`. Everything here trains the actual
layers ``W_1, ..., W_N`` with exact gradients

    dL/dW_j = (W_N ... W_{j+1})^T grad l(W) (W_{j-1} ... W_1)^T,     W = W_N ... W_1,

either by gradient descent (``W_j <- W_j - eta dL/dW_j``, all layers from the same iterate) or by
gradient flow (``solve_ivp`` on all layers), and compares with the theory. Three measurements:

1. **GD vs the end-to-end ODE** (:func:`gd_vs_ode`; Arora, Cohen & Hazan 2018, arXiv 1802.06509,
   Thm 1). From a balanced initialization (:func:`asymptotics.models.deep_linear.
   balanced_factorization` of a random ``W(0)``), GD with step ``eta`` after ``k`` steps is compared
   with the end-to-end ODE at ``t = k eta``. GD is the explicit Euler scheme of the layer flow, which
   equals the end-to-end flow exactly under balancedness; the error is therefore ``C1 eta + C2 eta^2
   + ...`` (global error of a first-order scheme; the imbalance GD creates is ``O(eta^2)`` per step,
   ``O(eta)`` in total, the same order). Per seed the order ``p`` is fitted by least squares to
   ``log e = log C + p log eta + c1 eta + c2 eta^2`` (:func:`fit_order`; the ``c`` terms model the
   corrections, so that ``p`` is not biased by the curvature of the log-log line: without them the
   bias is ``-5e-5`` on average over 40 seeds, with them ``< 2e-6``); the reported CI is the pooled
   mean of ``p`` over seeds (random targets, initializations and hidden rotations) +- the 97.5 %
   Student quantile times its standard error. The remaining truncation bias of the fit is stated as
   an allowance, the change of the pooled ``p`` when a third correction ``c3 eta^3`` is fitted; the
   order test passes if ``1`` lies in the CI widened by the allowance (:meth:`OrderFit.contains`).
   The error is the RMS over the sampled times of ``||W_GD(t) - W_ODE(t)||_F``. From a
   near-balanced initialization (each layer perturbed by ``epsilon`` in Frobenius norm) the layer
   flow leaves the end-to-end ODE by an amount proportional to the imbalance ``delta``: measured
   as the error of layer *gradient flow* (the ``eta -> 0`` limit of GD) and its fitted exponent
   in ``delta``.
2. **Saxe et al.'s closed form** (:func:`saxe_check`; arXiv 1312.6120): a depth-2 network on
   whitened data (``X X^T = I``, loss ``1/2 ||Y - W_2 W_1 X||_F^2``, ``tau dW_j/dt = -dL/dW_j``)
   from a spectral balanced initialization; each mode strength ``u_r(t) = u_r^T W(t) v_r`` against
   ``s e^{2st/tau} / (e^{2st/tau} - 1 + s/u0)``. The layer flow is integrated at ``rtol = 1e-12``;
   agreement to ``1e-6`` is the criterion.
3. **Implicit low-rank regularization** (:func:`matrix_completion`; Arora, Cohen, Hu & Luo 2019,
   arXiv 1905.13655; Razin & Cohen 2020, arXiv 2005.06398): complete a ``size x size`` rank-``rank``
   matrix from a random fraction ``observed`` of its entries by GD on
   ``l(W) = 1/2 sum_{(i,j) observed} (W_ij - M_ij)^2`` with ``W = W_N ... W_1`` (square layers),
   from the balanced small initialization ``W_j = alpha Q_j`` (``Q_j`` Haar orthogonal, so
   ``W_{j+1}^T W_{j+1} = alpha^2 I = W_j W_j^T``). Depth 1 is GD on ``W`` itself; it changes only
   observed entries, so it converges to ``M`` on the observed entries and ``alpha Q`` elsewhere,
   the completion nearest (in Frobenius norm) to its initialization, close to the minimum-Frobenius
   completion for small ``alpha``. The scale ``alpha`` is set across depths by ``init``
   (:func:`layer_scale`): ``"layer"`` (default) keeps ``alpha = init_scale`` at every depth, so the
   end-to-end init ``alpha^N`` shrinks with depth (depth and init scale are confounded);
   ``"end-to-end"`` uses ``alpha = init_scale^(1/N)``, the same end-to-end scale at every depth.
   Reported: effective rank (Roy & Vetterli 2007,
   :func:`asymptotics.models.deep_linear.effective_rank`), nuclear norm, relative reconstruction
   error ``||W - M||_F / ||M||_F`` on all entries, over seeds. Criteria
   (:func:`completion_criteria`): on the seed means, effective rank *and* reconstruction error
   strictly decreasing in depth (low rank alone could be a wrong low-rank interpolant), and every
   run converged.

Step size of the completion runs: ``eta = step_factor / (N rho^{2-2/N})`` with
``rho = ||P_Omega(M)||_F / sqrt(observed)`` (an estimate of ``||M||_F >= ||M||_2`` from observed
data). On the balanced manifold the largest curvature of the layer loss near a solution is about
``N ||W||_2^{2-2/N}`` (the preconditioner of the end-to-end dynamics), so ``step_factor = 1/2``
stays within the stability limit ``2 / curvature`` with a margin of at least 4. Fixed step, no
schedule.

Example:
    >>> res = saxe_check(n_times=5, horizon=4.0)
    >>> bool(res["max_abs_error"] < 1e-6)
    True
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass

import numpy as np
from scipy import stats

from asymptotics._validation import check_int, check_real
from asymptotics.models import deep_linear as dl

from .experiments import Experiment, Option, Report

__all__ = ["layer_gradients", "gradient_descent", "layer_gradient_flow", "fit_order", "OrderFit",
           "gd_vs_ode", "saxe_check", "completion_problem", "INIT_MODES", "layer_scale",
           "matrix_completion", "effective_rank_table", "completion_criteria", "trajectory_data",
           "plot_trajectories", "plot_effective_rank", "run", "EXPERIMENT"]

# Tags separating random streams (SeedSequence entropy) of the measurements.
_TAG_ORDER, _TAG_SAXE, _TAG_PROBLEM, _TAG_INIT, _TAG_TRAJ = 11, 12, 13, 14, 15


def _T(a):
    return np.swapaxes(a, -1, -2)


# ------------------------------------------------------------------------------------------------
# layer-wise training (batched over leading axes)
# ------------------------------------------------------------------------------------------------
def _prefix_products(layers):
    """``[I, W_1, W_2 W_1, ..., W_N ... W_1]`` (batched)."""
    eye = np.broadcast_to(np.eye(layers[0].shape[-1]), layers[0].shape[:-2] + (layers[0].shape[-1],) * 2)
    out = [eye]
    for w in layers:
        out.append(w @ out[-1])
    return out


def layer_gradients(layers, G, prefix=None):
    """Exact gradients ``(W_N..W_{j+1})^T G (W_{j-1}..W_1)^T`` of ``l(W_N ... W_1)``, ``j = 1..N``.

    Args:
        layers: ``(W_1, ..., W_N)``, arrays ``(..., d_j, d_{j-1})`` with common leading axes.
        G: ``grad l`` at the product, ``(..., d_N, d_0)``.
        prefix: the prefix products if already computed.

    Returns:
        A list of ``N`` arrays shaped like the layers.
    """
    prefix = _prefix_products(layers) if prefix is None else prefix
    n = len(layers)
    grads = [None] * n
    back = G  # (W_N ... W_{j+1})^T G
    for j in range(n - 1, -1, -1):
        grads[j] = back @ _T(prefix[j])
        back = _T(layers[j]) @ back
    return grads


def gradient_descent(layers, grad, step, steps, *, record_every=None):
    """Gradient descent on the layers with exact gradients.

    Args:
        layers: ``(W_1, ..., W_N)`` (batched arrays allowed); not modified.
        grad: callable ``W -> grad l(W)`` (batched).
        step: ``eta > 0``.
        steps: number of iterations ``>= 0``.
        record_every: record the product every this many iterations (default: only the ends).

    Returns:
        ``(layers, products)``: the final layers and the products at iterations ``0, r, 2r, ...``
        (stacked on a new first axis).
    """
    step = float(check_real("step", step, low=0.0, low_open=True))
    steps = check_int("steps", steps, low=0)
    every = None if record_every is None else check_int("record_every", record_every, low=1)
    layers = [np.array(w, dtype=float) for w in layers]
    recorded = []
    for k in range(steps + 1):
        prefix = _prefix_products(layers)
        W = prefix[-1]
        if (k in (0, steps)) if every is None else (k % every == 0):
            recorded.append(W.copy())
        if k == steps:
            break
        grads = layer_gradients(layers, grad(W), prefix)
        for j in range(len(layers)):
            layers[j] -= step * grads[j]
    if not all(np.all(np.isfinite(w)) for w in layers):
        raise ValueError(f"gradient descent diverged: step={step!r} is too large")
    return layers, np.stack(recorded)


def layer_gradient_flow(layers, grad, times, *, tau=1.0, rtol=1e-12, atol=1e-14):
    """Gradient flow ``tau dW_j/dt = -dL/dW_j`` of all layers (``solve_ivp``, DOP853).

    Args:
        layers: ``(W_1, ..., W_N)``, 2-d arrays (not batched); not modified.
        grad: callable ``W -> grad l(W)``.
        times: finite times ``>= 0``, non-decreasing (1-d); the flow starts at ``t = 0``.
        tau: time constant ``> 0``.
        rtol, atol: integrator tolerances ``> 0``.

    Returns:
        ``(layers_at_times, products)``: a list (one per time) of layer tuples, and the products
        ``(len(times), d_N, d_0)``.

    >>> layer_gradient_flow([np.eye(2)], lambda W: W, [0.0, float("nan")])
    Traceback (most recent call last):
    ...
    ValueError: times must not be NaN
    """
    layers = [np.array(w, dtype=float) for w in dl._check_layers(layers)]
    times = dl._check_times(times)
    if not callable(grad):
        raise ValueError("grad must be a callable W -> grad l(W)")
    shapes = [w.shape for w in layers]
    sizes = np.cumsum([0] + [w.size for w in layers])
    tau = float(check_real("tau", tau, low=0.0, low_open=True))

    def unpack(y):
        return [y[sizes[i]:sizes[i + 1]].reshape(shapes[i]) for i in range(len(shapes))]

    def rhs(_t, y):
        ls = unpack(y)
        prefix = _prefix_products(ls)
        return -np.concatenate([g.ravel() for g in layer_gradients(ls, grad(prefix[-1]), prefix)]) / tau

    y0 = np.concatenate([w.ravel() for w in layers])
    states = [unpack(y) for y in dl._integrate(rhs, y0, times, rtol, atol)]
    return states, np.stack([dl.product(ls) for ls in states])


# ------------------------------------------------------------------------------------------------
# 1. GD vs the end-to-end ODE
# ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class OrderFit:
    """Fitted convergence order, pooled over seeds.

    Attributes:
        order: mean over seeds of the per-seed fitted order.
        se: its standard error (sample sd over seeds, ddof=1, over sqrt(seeds)).
        ci_low, ci_high: ``order -+ t_{0.975, seeds-1} se`` (statistical, over seeds).
        per_seed: the per-seed orders.
        allowance: the stated truncation bias of the fit, ``|order - order'|`` where ``order'`` is
            fitted with one more correction term (0 if not computed); :meth:`contains` widens the
            interval by it.
    """

    order: float
    se: float
    ci_low: float
    ci_high: float
    per_seed: tuple
    allowance: float = 0.0

    def contains(self, value: float) -> bool:
        """``ci_low - allowance <= value <= ci_high + allowance``."""
        return self.ci_low - self.allowance <= value <= self.ci_high + self.allowance


def fit_order(steps, errors, corrections=2) -> float:
    """Least-squares ``p`` in ``log e = log C + p log eta + c_1 eta + ... + c_k eta^k`` (one seed).

    A first-order scheme has ``e = C eta (1 + a_1 eta + a_2 eta^2 + ...)``; ``log`` of the bracket is
    a power series in ``eta``, whose first ``k = corrections`` terms are fitted so that they do not
    bias ``p`` (without them the curvature of the log-log line biases ``p`` by ``O(eta_max)``).

    >>> eta = np.array([0.04, 0.02, 0.01, 0.005, 0.0025])
    >>> round(fit_order(eta, 3 * eta * np.exp(2 * eta - eta ** 2)), 9)   # exactly of the model
    1.0
    >>> round(fit_order(eta, 3 * eta * (1 + 2 * eta)), 4)   # log(1 + 2 eta): series truncated
    1.0
    """
    steps = check_real("steps", steps, low=0.0, low_open=True)
    errors = check_real("errors", errors, low=0.0, low_open=True)
    corrections = check_int("corrections", corrections, low=0)
    if steps.ndim != 1 or steps.shape != errors.shape or steps.size < corrections + 3:
        raise ValueError(f"steps and errors must be 1-d arrays of equal length >= corrections + 3 "
                         f"= {corrections + 3}")
    A = np.column_stack([np.ones_like(steps), np.log(steps)]
                        + [steps ** k for k in range(1, corrections + 1)])
    coef = np.linalg.lstsq(A, np.log(errors), rcond=None)[0]
    return float(coef[1])


def _pool(orders, allowance=0.0) -> OrderFit:
    orders = np.asarray(orders, dtype=float)
    mean = float(orders.mean())
    se = float(orders.std(ddof=1) / math.sqrt(orders.size))
    half = float(stats.t.ppf(0.975, orders.size - 1)) * se
    return OrderFit(mean, se, mean - half, mean + half, tuple(float(o) for o in orders),
                    float(allowance))


def _pool_with_allowance(steps, errors):
    """Pooled order with 2 correction terms; allowance from the change with a 3rd term."""
    main = [fit_order(steps, e, 2) for e in errors]
    allowance = 0.0
    if steps.size >= 6:
        allowance = abs(float(np.mean(main)) - float(np.mean([fit_order(steps, e, 3) for e in errors])))
    return _pool(main, allowance)


def _order_instance(rng, depth, shape, hidden, init_scale, epsilon):
    m, n = shape
    Phi = rng.standard_normal((m, n))
    W0 = init_scale * rng.standard_normal((m, n))
    layers = list(dl.balanced_factorization(W0, depth, hidden=hidden, seed=rng))
    if epsilon > 0:
        for j, w in enumerate(layers):
            E = rng.standard_normal(w.shape)
            layers[j] = w + epsilon * E / np.linalg.norm(E)
    return Phi, layers


def gd_vs_ode(*, depth=3, shape=(5, 4), hidden=6, init_scale=0.3, horizon=2.0, n_times=10,
              iterations=(100, 200, 400, 800, 1600, 3200, 6400), epsilons=(1e-3, 1e-2, 1e-1),
              seeds=5, seed=0):
    """GD on the layers vs the end-to-end ODE (balanced) and layer flow vs ODE (near-balanced).

    Per seed: target ``Phi`` (``N(0,1)`` entries), ``W(0) = init_scale * N(0,1)`` balanced-factored
    with random hidden rotations, whitened loss. GD with ``eta = horizon / K`` for ``K`` in
    ``iterations``; errors ``||W_GD(t) - W_ODE(t)||_F`` at ``n_times`` equispaced times in
    ``(0, horizon]``; the ODE is :func:`asymptotics.models.deep_linear.end_to_end_flow` at
    ``rtol = 1e-12``. Near-balanced: each layer perturbed by ``epsilon`` (Frobenius), the layer
    gradient flow (``rtol = 1e-12``) against the ODE started from the same product.

    Requires ``init_scale > 0``, ``>= 5`` distinct ``iterations`` that are multiples of
    ``n_times`` (the order fit has 4 coefficients) and distinct ``epsilons > 0`` (possibly none).

    Returns:
        dict with ``steps`` (K,), ``err_max`` and ``err_rms`` (seeds, K), ``order`` (an
        :class:`OrderFit` on the RMS errors), ``order_max`` (on the max errors), ``gf_balanced``
        (seeds,), ``imbalance`` and ``gf_error`` (seeds, len(epsilons)), ``imbalance_order``
        (:class:`OrderFit` of ``log gf_error`` against ``log imbalance``, plain slope per seed).
    """
    depth = check_int("depth", depth, low=1)
    seeds = check_int("seeds", seeds, low=2)
    n_times = check_int("n_times", n_times, low=1)
    horizon = float(check_real("horizon", horizon, low=0.0, low_open=True))
    init_scale = float(check_real("init_scale", init_scale, low=0.0, low_open=True))
    try:
        shape = tuple(check_int("shape", k, low=1) for k in shape)
    except TypeError:
        raise ValueError(f"shape must be a pair (m, n) of integers >= 1, got {shape!r}") from None
    if len(shape) != 2:
        raise ValueError(f"shape must be a pair (m, n) of integers >= 1, got {shape!r}")
    iterations = [check_int("iterations", k, low=1) for k in iterations]
    # the order fit (fit_order with 2 corrections) has 4 coefficients: at least 5 step sizes
    if len(set(iterations)) < 5 or len(set(iterations)) != len(iterations) \
            or any(k % n_times for k in iterations):
        raise ValueError(f"iterations must hold >= 5 distinct multiples of n_times={n_times} (the "
                         f"order fit has 4 coefficients), got {list(iterations)}")
    epsilons = np.atleast_1d(check_real("epsilons", epsilons, low=0.0, low_open=True, allow_empty=True))
    if epsilons.ndim != 1 or np.unique(epsilons).size != epsilons.size:
        raise ValueError(f"epsilons must be distinct perturbation sizes > 0 (1-d; epsilon = 0 is the "
                         f"balanced case, always measured), got {epsilons.tolist()}")
    epsilons = tuple(float(e) for e in epsilons)
    times = np.linspace(0.0, horizon, n_times + 1)
    ss = np.random.SeedSequence([check_int("seed", seed, low=0), _TAG_ORDER])
    rngs = [np.random.default_rng(c) for c in ss.spawn(seeds)]
    inst = [_order_instance(r, depth, shape, hidden, init_scale, 0.0) for r in rngs]
    Phis = np.stack([p for p, _ in inst])
    layers = [np.stack([ls[j] for _, ls in inst]) for j in range(depth)]
    ode = np.stack([dl.end_to_end_flow(dl.product([w[i] for w in layers]), depth, times, target=Phis[i],
                                       rtol=1e-12, atol=1e-14) for i in range(seeds)], axis=1)
    def grad(W):
        return W - Phis

    err_max = np.empty((seeds, len(iterations)))
    err_rms = np.empty_like(err_max)
    for k, K in enumerate(iterations):
        _, traj = gradient_descent(layers, grad, horizon / K, K, record_every=K // n_times)
        d = np.linalg.norm(traj - ode, axis=(-2, -1))[1:]  # (n_times, seeds)
        err_max[:, k] = d.max(axis=0)
        err_rms[:, k] = np.sqrt(np.mean(d ** 2, axis=0))
    steps = horizon / np.asarray(iterations, dtype=float)
    order = _pool_with_allowance(steps, err_rms)
    order_max = _pool_with_allowance(steps, err_max)
    # layer gradient flow: balanced (should equal the ODE up to integration error) and perturbed
    gf_bal = np.empty(seeds)
    delta = np.empty((seeds, len(epsilons)))
    gf_err = np.empty((seeds, len(epsilons)))
    for i in range(seeds):
        Phi = Phis[i]
        ls = [w[i] for w in layers]
        _, prod = layer_gradient_flow(ls, lambda W, P=Phi: W - P, times)
        gf_bal[i] = np.linalg.norm(prod - ode[:, i], axis=(-2, -1)).max()
        for e, eps in enumerate(epsilons):
            rng = np.random.default_rng([seed, _TAG_ORDER, 1 + i, e])
            pert = [w + eps * E / np.linalg.norm(E) for w, E in
                    zip(ls, (rng.standard_normal(w.shape) for w in ls))]
            delta[i, e] = dl.imbalance(pert)
            _, prod = layer_gradient_flow(pert, lambda W, P=Phi: W - P, times)
            ref = dl.end_to_end_flow(dl.product(pert), depth, times, target=Phi, rtol=1e-12, atol=1e-14)
            gf_err[i, e] = np.linalg.norm(prod - ref, axis=(-2, -1)).max()
    if len(epsilons) >= 2:
        slopes = [float(np.polyfit(np.log(delta[i]), np.log(gf_err[i]), 1)[0]) for i in range(seeds)]
        imb_order = _pool(slopes)
    else:
        imb_order = None
    return {"depth": depth, "shape": tuple(shape), "hidden": hidden, "init_scale": init_scale,
            "horizon": horizon, "n_times": n_times, "iterations": tuple(iterations), "steps": steps,
            "err_max": err_max, "err_rms": err_rms, "order": order, "order_max": order_max,
            "gf_balanced": gf_bal, "epsilons": tuple(epsilons), "imbalance": delta,
            "gf_error": gf_err, "imbalance_order": imb_order, "seeds": seeds}


# ------------------------------------------------------------------------------------------------
# 2. Saxe et al.'s closed form
# ------------------------------------------------------------------------------------------------
def _orthonormal(rng, rows, cols):
    q, r = np.linalg.qr(rng.standard_normal((rows, cols)))
    return q * np.sign(np.diag(r))


def saxe_check(*, strengths=(3.0, 2.0, 1.0), u0=1e-3, tau=2.0, n_in=4, n_out=5, n_samples=12,
               hidden=5, horizon=20.0, n_times=40, seed=0):
    """Depth-2 layer gradient flow on whitened data against Saxe et al.'s closed form.

    Data: ``X`` = ``n_in`` orthonormal rows of a Haar ``n_samples x n_samples`` matrix
    (``X X^T = I``); target map ``Phi = sum_r s_r u_r v_r^T`` (random orthonormal ``u_r, v_r``);
    ``Y = Phi X + Z (I - X^T X)`` with Gaussian ``Z``, so ``Sigma_31 = Y X^T = Phi`` while ``Y`` is
    not a function of ``X``. Loss ``1/2 ||Y - W_2 W_1 X||_F^2``, gradients from the data. Init: the
    balanced factorization of ``u0 sum_r u_r v_r^T`` (every mode at strength ``u0``, ``a = b``)
    with a random hidden rotation. Flow ``tau dW_j/dt = -dL/dW_j`` to ``horizon``.

    Returns:
        dict with ``times``, ``simulated`` and ``theory`` (n_times+1, modes), ``max_abs_error``
        (layer flow vs closed form), ``leak`` (max ``||W - sum_r u_r(t) u_r v_r^T||_F``, the part
        outside the modes), ``e2e_error`` (end-to-end ODE vs closed form) and ``mode_error``
        (the lambdified sympy mode ODE vs closed form).
    """
    strengths = np.asarray(check_real("strengths", strengths, low=0.0, low_open=True), dtype=float).ravel()
    u0 = float(check_real("u0", u0, low=0.0, low_open=True))
    tau = float(check_real("tau", tau, low=0.0, low_open=True))
    r = strengths.size
    if r > min(n_in, n_out) or n_samples < n_in or hidden < min(n_in, n_out):
        raise ValueError("need len(strengths) <= min(n_in, n_out), n_samples >= n_in and "
                         "hidden >= min(n_in, n_out)")
    rng = np.random.default_rng([check_int("seed", seed, low=0), _TAG_SAXE])
    X = _orthonormal(rng, n_samples, n_samples)[:, :n_in].T
    U = _orthonormal(rng, n_out, r)
    V = _orthonormal(rng, n_in, r)
    Phi = U @ np.diag(strengths) @ V.T
    Y = Phi @ X + rng.standard_normal((n_out, n_samples)) @ (np.eye(n_samples) - X.T @ X)
    W0 = u0 * U @ V.T
    layers = dl.balanced_factorization(W0, 2, hidden=hidden, seed=rng)
    times = np.linspace(0.0, float(check_real("horizon", horizon, low=0.0, low_open=True)),
                        check_int("n_times", n_times, low=1) + 1)

    def grad(W):
        return (W @ X - Y) @ X.T

    _, prod = layer_gradient_flow(layers, grad, times, tau=tau)
    sim = np.einsum("ir,tij,jr->tr", U, prod, V)
    theory = dl.saxe_learning_curve(times[:, None], strengths[None, :], u0, tau)
    leak = np.linalg.norm(prod - np.einsum("ir,tr,jr->tij", U, sim, V), axis=(-2, -1)).max()
    e2e = dl.end_to_end_flow(W0, 2, times / tau, target=Phi, rtol=1e-12, atol=1e-14)
    e2e_modes = np.einsum("ir,tij,jr->tr", U, e2e, V)
    modes = dl.mode_trajectory(times, 2, strengths, u0, tau)
    return {"times": times, "strengths": strengths, "u0": u0, "tau": tau, "simulated": sim,
            "theory": theory, "max_abs_error": float(np.abs(sim - theory).max()),
            "leak": float(leak), "e2e_error": float(np.abs(e2e_modes - theory).max()),
            "mode_error": float(np.abs(modes - theory).max())}


# ------------------------------------------------------------------------------------------------
# 3. matrix completion
# ------------------------------------------------------------------------------------------------
def completion_problem(size, rank, observed, rng):
    """A rank-``rank`` ``size x size`` target with unit RMS entries and a Bernoulli(observed) mask.

    ``M = A B^T`` with Gaussian ``A, B`` (``size x rank``), scaled to ``||M||_F = size``.
    """
    A = rng.standard_normal((size, rank))
    B = rng.standard_normal((size, rank))
    M = A @ B.T
    M *= size / np.linalg.norm(M)
    mask = rng.random((size, size)) < observed
    return M, mask


#: how the completion init scale is set across depths (see :func:`layer_scale`)
INIT_MODES = ("layer", "end-to-end")


def _check_init(init):
    if not isinstance(init, str) or init not in INIT_MODES:
        raise ValueError(f"init must be one of {', '.join(repr(m) for m in INIT_MODES)}, got {init!r}")
    return init


def layer_scale(depth, init_scale, init="layer") -> float:
    """Per-layer scale ``alpha`` of the completion init ``W_j = alpha Q_j`` (``Q_j`` orthogonal).

    ``init="layer"``: ``alpha = init_scale`` at every depth, so the end-to-end init
    ``W(0) = alpha^N Q_N ... Q_1`` has all singular values ``init_scale^N`` (shrinking with depth).
    ``init="end-to-end"``: ``alpha = init_scale^(1/N)``, so ``W(0)`` has all singular values
    ``init_scale`` at every depth (matched end-to-end scale).

    >>> layer_scale(3, 1e-2), round(layer_scale(3, 1e-6, "end-to-end"), 12)
    (0.01, 0.01)
    """
    depth = check_int("depth", depth, low=1)
    init_scale = float(check_real("init_scale", init_scale, low=0.0, low_open=True))
    return init_scale if _check_init(init) == "layer" else init_scale ** (1.0 / depth)


def _completion_problems(size, rank, observed, seeds, seed):
    """The problems of seeds ``0..seeds-1`` (stacked); every mask must observe >= 1 entry."""
    Ms, masks = [], []
    for i in range(seeds):
        M, mask = completion_problem(size, rank, observed,
                                     np.random.default_rng([seed, _TAG_PROBLEM, i]))
        if not np.any(mask & (M != 0)):
            raise ValueError(f"observed={observed!r} is too small: the mask drawn for seed {i} observes "
                             f"no (non-zero) entry of the {size}x{size} target; every problem needs at "
                             f"least one observed entry (each entry is observed with probability "
                             f"observed; expected count observed*size^2 = {observed * size * size:.3g})")
        Ms.append(M)
        masks.append(mask)
    return np.stack(Ms), np.stack(masks)


def matrix_completion(depth, *, size=20, rank=2, observed=0.35, init_scale=1e-2, init="layer",
                      seeds=5, seed=0, tol=1e-6, max_iter=200_000, step_factor=0.5):
    """Matrix completion by a depth-``N`` linear network from small balanced initialization.

    All seeds are trained together (batched). Seed ``i``'s problem ``(M, mask)`` depends only on
    ``(seed, i)``, not on the depth, so depths are compared on the same problems (and on the same
    orthogonal ``Q_j``; only their scale depends on ``init``). GD stops for a seed when
    ``l(W) <= tol * l(0)`` (relative training loss) or after ``max_iter`` iterations.

    Args:
        init_scale, init: the init is ``W_j = alpha Q_j`` with ``alpha = layer_scale(depth,
            init_scale, init)``: ``init="layer"`` (default) puts every layer at ``init_scale``
            (end-to-end scale ``init_scale^N``), ``init="end-to-end"`` puts the product at
            ``init_scale`` at every depth (:func:`layer_scale`).
        observed: in ``(0, 1]``; every drawn mask must observe at least one entry (else
            ``ValueError`` naming ``observed``).

    Returns:
        dict of per-seed arrays: ``effective_rank``, ``nuclear_norm``, ``recon_error``
        (``||W - M||_F / ||M||_F``), ``train_loss`` (relative), ``iterations``, ``converged``,
        ``init_singular_values`` (of ``W(0)``, ``(seeds, size)``); plus ``target_effective_rank``,
        ``target_nuclear_norm`` and the settings (``layer_scale`` = ``alpha``).
    """
    depth = check_int("depth", depth, low=1)
    size = check_int("size", size, low=2)
    rank = check_int("rank", rank, low=1, high=size)
    observed = float(check_real("observed", observed, low=0.0, high=1.0, low_open=True))
    init_scale = float(check_real("init_scale", init_scale, low=0.0, low_open=True))
    alpha = layer_scale(depth, init_scale, init)
    seeds = check_int("seeds", seeds, low=1)
    tol = float(check_real("tol", tol, low=0.0, low_open=True))
    max_iter = check_int("max_iter", max_iter, low=1)
    step_factor = float(check_real("step_factor", step_factor, low=0.0, low_open=True))
    seed = check_int("seed", seed, low=0)
    M, mask = _completion_problems(size, rank, observed, seeds, seed)
    layers = [[] for _ in range(depth)]
    for i in range(seeds):
        rng = np.random.default_rng([seed, _TAG_INIT, i])
        for j in range(depth):
            layers[j].append(alpha * _orthonormal(rng, size, size))
    mask = mask.astype(float)
    layers = [np.stack(w) for w in layers]
    init_sv = np.linalg.svd(_prefix_products(layers)[-1], compute_uv=False)
    obs = mask * M
    loss0 = 0.5 * np.sum(obs ** 2, axis=(1, 2))
    rho = np.sqrt(2 * loss0 / observed)
    step = (step_factor / (depth * rho ** (2.0 - 2.0 / depth)))[:, None, None]
    active = np.ones(seeds, dtype=bool)
    iters = np.full(seeds, max_iter)
    loss = loss0.copy()
    for k in range(max_iter + 1):
        prefix = _prefix_products(layers)
        W = prefix[-1]
        G = mask * (W - M)
        loss = 0.5 * np.sum(G ** 2, axis=(1, 2))
        done = active & (loss <= tol * loss0)
        iters[done] = k
        active &= ~done
        if not active.any() or k == max_iter:
            break
        grads = layer_gradients(layers, G, prefix)
        eff = step * active[:, None, None]
        for j in range(depth):
            layers[j] -= eff * grads[j]
    if not np.all(np.isfinite(W)):
        raise ValueError(f"matrix completion diverged: step_factor={step_factor!r} is too large")
    W = _prefix_products(layers)[-1]
    sv = np.linalg.svd(W, compute_uv=False)
    return {"depth": depth, "size": size, "rank": rank, "observed": observed,
            "init_scale": init_scale, "init": init, "layer_scale": alpha,
            "init_singular_values": init_sv, "seeds": seeds,
            "effective_rank": np.array([dl.effective_rank(w) for w in W]),
            "nuclear_norm": sv.sum(axis=1),
            "recon_error": np.linalg.norm(W - M, axis=(1, 2)) / np.linalg.norm(M, axis=(1, 2)),
            "train_loss": loss / loss0, "iterations": iters, "converged": ~active,
            "target_effective_rank": np.array([dl.effective_rank(m) for m in M]),
            "target_nuclear_norm": np.linalg.svd(M, compute_uv=False).sum(axis=1),
            "step": step.ravel()}


def _mean_se(x):
    x = np.asarray(x, dtype=float)
    return float(x.mean()), (float(x.std(ddof=1) / math.sqrt(x.size)) if x.size > 1 else 0.0)


def effective_rank_table(depths=(1, 2, 3), **kwargs):
    """:func:`matrix_completion` for each depth; one record per depth (mean and se over seeds).

    Returns:
        ``(records, results)``: the flat records and the raw per-depth results.
    """
    results = [matrix_completion(d, **kwargs) for d in depths]
    records = []
    for res in results:
        rec = {"measurement": "completion", "depth": res["depth"]}
        for key in ("effective_rank", "nuclear_norm", "recon_error"):
            rec[key], rec[key + "_se"] = _mean_se(res[key])
        rec["target_effective_rank"] = float(res["target_effective_rank"].mean())
        rec["target_nuclear_norm"] = float(res["target_nuclear_norm"].mean())
        rec["train_loss_max"] = float(res["train_loss"].max())
        rec["iterations_max"] = int(res["iterations"].max())
        rec["converged"] = bool(res["converged"].all())
        rec["init"] = res["init"]
        rec["init_end_to_end"] = float(res["init_singular_values"].max(axis=1).mean())
        rec["seeds"] = res["seeds"]
        records.append(rec)
    return records, results


def completion_criteria(records) -> dict:
    """The completion part of the verdict, from :func:`effective_rank_table` records (increasing
    depth), on the seed means:

    * ``effective_rank_strictly_decreasing``: depth lowers the effective rank;
    * ``recon_error_strictly_decreasing``: depth also lowers the reconstruction error, i.e. the
      lower rank is the target's, not a wrong low-rank interpolant (a converged run can end at
      one: lower effective rank than the target and a large error; see docs/deep_linear.md);
    * ``completion_converged``: every run reached the training-loss tolerance.

    >>> recs = [{"effective_rank": 12.0, "recon_error": 0.8, "converged": True},
    ...         {"effective_rank": 2.5, "recon_error": 0.2, "converged": True},
    ...         {"effective_rank": 1.5, "recon_error": 5.9, "converged": True}]
    >>> completion_criteria(recs)["recon_error_strictly_decreasing"]
    False
    """
    records = list(records)
    if len(records) < 2:
        raise ValueError(f"records must hold >= 2 depths, got {len(records)}")
    er = [float(r["effective_rank"]) for r in records]
    rec = [float(r["recon_error"]) for r in records]
    return {"effective_rank_strictly_decreasing": all(b < a for a, b in zip(er, er[1:])),
            "recon_error_strictly_decreasing": all(b < a for a, b in zip(rec, rec[1:])),
            "completion_converged": all(bool(r["converged"]) for r in records)}


# ------------------------------------------------------------------------------------------------
# figures
# ------------------------------------------------------------------------------------------------
def trajectory_data(*, depths=(1, 2, 3), strengths=(3.0, 2.0, 1.0), layer_scale=0.2, shape=(4, 4),
                    hidden=4, step=1e-3, horizon=6.0, n_marks=25, seed=0):
    """Singular values of the product under layer GD (spectral balanced init with per-layer scale
    ``layer_scale``, i.e. every mode at ``sigma0 = layer_scale^N``) and their theory curves.

    Returns:
        list (one per depth) of dicts ``depth, times_theory, theory (T, modes), times_gd,
        gd (K, modes), max_dev`` (max ``|sigma_GD - sigma_theory|`` at the marks).
    """
    strengths = np.asarray(strengths, dtype=float)
    m, n = shape
    r = strengths.size
    rng = np.random.default_rng([check_int("seed", seed, low=0), _TAG_TRAJ])
    U = _orthonormal(rng, m, r)
    V = _orthonormal(rng, n, r)
    Phi = U @ np.diag(strengths) @ V.T
    steps = int(round(horizon / step))
    every = max(steps // n_marks, 1)
    out = []
    for depth in depths:
        sigma0 = layer_scale ** depth
        layers = dl.balanced_factorization(sigma0 * U @ V.T, depth, hidden=hidden, seed=rng)
        _, traj = gradient_descent(layers, lambda W: W - Phi, step, steps, record_every=every)
        t_gd = step * every * np.arange(traj.shape[0])
        gd = np.einsum("ir,tij,jr->tr", U, traj, V)
        t_th = np.linspace(0.0, horizon, 400)
        theory = dl.mode_trajectory(t_th, depth, strengths, sigma0)
        at_marks = dl.mode_trajectory(t_gd, depth, strengths, sigma0)
        out.append({"depth": depth, "times_theory": t_th, "theory": theory, "times_gd": t_gd,
                    "gd": gd, "max_dev": float(np.abs(gd - at_marks).max()), "sigma0": sigma0,
                    "step": step, "strengths": strengths})
    return out


def _plt():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def plot_trajectories(data, path):
    """Theory lines vs GD markers, one panel per depth (``data`` from :func:`trajectory_data`)."""
    plt = _plt()
    fig, axes = plt.subplots(1, len(data), figsize=(4.2 * len(data), 3.4), sharey=True)
    axes = np.atleast_1d(axes)
    for ax, d in zip(axes, data):
        for k, s_k in enumerate(d["strengths"]):
            line, = ax.plot(d["times_theory"], d["theory"][:, k], lw=1.5, label=f"s = {s_k:g}")
            ax.plot(d["times_gd"], d["gd"][:, k], "o", ms=3.5, mfc="none", color=line.get_color())
        ax.plot([], [], "o", ms=3.5, mfc="none", color="k", label="layer GD")
        ax.plot([], [], "-", color="k", label="mode ODE (theory)")
        ax.set_title(f"depth N = {d['depth']}   (sigma0 = {d['sigma0']:.3g}, step = {d['step']:g})",
                     fontsize=10)
        ax.set_xlabel("t = iterations x step")
    axes[0].set_ylabel("singular value of W_N ... W_1")
    fig.legend(*axes[-1].get_legend_handles_labels(), loc="lower center", ncol=5, fontsize=8,
               frameon=False)
    fig.tight_layout(rect=(0, 0.07, 1, 1))
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_effective_rank(records, path):
    """Effective rank vs depth with standard-error bars (``records`` from
    :func:`effective_rank_table`)."""
    plt = _plt()
    depths = [r["depth"] for r in records]
    fig, ax = plt.subplots(figsize=(4.6, 3.4))
    ax.errorbar(depths, [r["effective_rank"] for r in records],
                yerr=[r["effective_rank_se"] for r in records], fmt="o-", capsize=4,
                label="completed matrix (mean +- se over seeds)")
    ax.axhline(float(np.mean([r["target_effective_rank"] for r in records])), ls="--", color="gray",
               label="target (mean)")
    ax.set_xticks(depths)
    ax.set_xlabel("depth N")
    ax.set_ylabel("effective rank (Roy & Vetterli)")
    ax.set_yscale("log")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _figure_paths(plot: str):
    if plot.endswith(("/", os.sep)) or os.path.isdir(plot):
        prefix = os.path.join(plot, "deep_linear")
    else:
        prefix = plot
    return prefix + "_trajectories.png", prefix + "_effective_rank.png"


# ------------------------------------------------------------------------------------------------
# the experiment
# ------------------------------------------------------------------------------------------------
def run(seeds=5, size=20, rank=2, observed=0.35, init_scale=1e-2, init="layer", depths=(1, 2, 3),
        order_depth=3, seed=0, plot="") -> Report:
    """Run the three measurements; see the module docstring. ``plot``: '' (no figures), a
    directory (files ``deep_linear_trajectories.png`` and ``deep_linear_effective_rank.png`` in
    it) or a path prefix (``PREFIX_trajectories.png``, ``PREFIX_effective_rank.png``)."""
    seeds = check_int("seeds", seeds, low=2)
    depths = tuple(check_int("depths", d, low=1) for d in depths)
    if len(depths) < 2 or list(depths) != sorted(set(depths)):
        raise ValueError(f"depths must be >= 2 distinct increasing integers, got {depths}")
    if not isinstance(plot, str):
        raise ValueError(f"plot must be a string (a directory or a path prefix), got {plot!r}")
    # validate everything before the first (slow) measurement
    size = check_int("size", size, low=2)
    rank = check_int("rank", rank, low=1, high=size)
    observed = float(check_real("observed", observed, low=0.0, high=1.0, low_open=True))
    init_scale = float(check_real("init_scale", init_scale, low=0.0, low_open=True))
    init = _check_init(init)
    order_depth = check_int("order_depth", order_depth, low=1)
    seed = check_int("seed", seed, low=0)
    _completion_problems(size, rank, observed, seeds, seed)  # every mask observes an entry
    records = []
    # 1. GD vs ODE
    o = gd_vs_ode(depth=order_depth, seeds=seeds, seed=seed)
    for k, K in enumerate(o["iterations"]):
        em, es = _mean_se(o["err_max"][:, k])
        rm, rs = _mean_se(o["err_rms"][:, k])
        records.append({"measurement": "gd-vs-ode", "depth": o["depth"], "init": "balanced",
                        "step": float(o["steps"][k]), "iterations": K, "error_max": em,
                        "error_max_se": es, "error_rms": rm, "error_rms_se": rs, "seeds": seeds})
    fit = o["order"]
    records.append({"measurement": "gd-vs-ode order", "depth": o["depth"], "init": "balanced",
                    "order": fit.order, "order_minus_1": fit.order - 1.0, "order_se": fit.se,
                    "ci_low": fit.ci_low, "ci_high": fit.ci_high, "allowance": fit.allowance,
                    "seeds": seeds})
    gm, gs = _mean_se(o["gf_balanced"])
    records.append({"measurement": "gf-vs-ode", "depth": o["depth"], "init": "balanced",
                    "imbalance": 0.0, "error_max": gm, "error_max_se": gs, "seeds": seeds})
    for e, eps in enumerate(o["epsilons"]):
        em, es = _mean_se(o["gf_error"][:, e])
        records.append({"measurement": "gf-vs-ode", "depth": o["depth"],
                        "init": f"near-balanced eps={eps:g}",
                        "imbalance": float(o["imbalance"][:, e].mean()), "error_max": em,
                        "error_max_se": es, "seeds": seeds})
    imb = o["imbalance_order"]
    if imb is not None:
        records.append({"measurement": "gf-vs-ode exponent in imbalance", "depth": o["depth"],
                        "init": "near-balanced", "order": imb.order, "order_se": imb.se,
                        "ci_low": imb.ci_low, "ci_high": imb.ci_high, "seeds": seeds})
    # 2. Saxe
    sx = saxe_check(seed=seed)
    for k, s_k in enumerate(sx["strengths"]):
        records.append({"measurement": "saxe closed form", "depth": 2, "s": float(s_k), "u0": sx["u0"],
                        "tau": sx["tau"],
                        "error_max": float(np.abs(sx["simulated"][:, k] - sx["theory"][:, k]).max())})
    records.append({"measurement": "saxe closed form", "depth": 2, "init": "all modes",
                    "error_max": sx["max_abs_error"], "leak": sx["leak"],
                    "e2e_ode_error": sx["e2e_error"], "mode_ode_error": sx["mode_error"]})
    # 3. completion
    comp, _ = effective_rank_table(depths, size=size, rank=rank, observed=observed,
                                   init_scale=init_scale, init=init, seeds=seeds, seed=seed)
    records.extend(comp)
    comp_crit = completion_criteria(comp)
    decreasing = comp_crit["effective_rank_strictly_decreasing"]
    recon_decreasing = comp_crit["recon_error_strictly_decreasing"]
    converged = comp_crit["completion_converged"]
    order_ok = fit.contains(1.0)
    saxe_ok = sx["max_abs_error"] <= 1e-6
    passed = bool(order_ok and saxe_ok and all(comp_crit.values()))
    figures = []
    if plot:
        traj_path, er_path = _figure_paths(plot)
        traj = trajectory_data(seed=seed)
        plot_trajectories(traj, traj_path)
        plot_effective_rank(comp, er_path)
        figures = [traj_path, er_path]
        for d in traj:
            records.append({"measurement": "trajectory figure", "depth": d["depth"],
                            "step": d["step"], "error_max": d["max_dev"]})
    summary = (
        f"GD vs end-to-end ODE (depth {o['depth']}, balanced init, {seeds} seeds): fitted order "
        f"{fit.order:.6f} (95% CI [{fit.ci_low:.6f}, {fit.ci_high:.6f}], fit-truncation allowance "
        f"{fit.allowance:.1e}; expected 1: {'inside' if order_ok else 'OUTSIDE'}). Layer gradient "
        f"flow from balanced init matches "
        f"the ODE to {gm:.1e}; from near-balanced init it deviates in proportion to the imbalance"
        + (f" (exponent {imb.order:.3f} +- {imb.se:.3f})" if imb is not None else "")
        + f". Saxe et al. depth-2 closed form: max |error| {sx['max_abs_error']:.2e} "
        f"({'<=' if saxe_ok else '>'} 1e-6). Matrix completion ({size}x{size}, rank {rank}, "
        f"{observed:.0%} observed, init {init_scale:g} "
        f"{'per layer' if init == 'layer' else 'end to end'}): effective rank by depth "
        + ", ".join(f"N={r['depth']}: {r['effective_rank']:.3f}+-{r['effective_rank_se']:.3f}"
                    for r in comp)
        + f" ({'strictly decreasing' if decreasing else 'NOT strictly decreasing'}); "
        + "reconstruction error by depth "
        + ", ".join(f"N={r['depth']}: {r['recon_error']:.3g}" for r in comp)
        + f" ({'strictly decreasing' if recon_decreasing else 'NOT strictly decreasing'}"
        + ("" if converged else "; some runs did not reach the training-loss tolerance") + ")."
    )
    metadata = {"experiment": "deep-linear", "seed": seed, "seeds": seeds, "size": size, "rank": rank,
                "observed": observed, "init_scale": init_scale, "init": init,
                "layer_scales": [layer_scale(d, init_scale, init) for d in depths],
                "depths": list(depths),
                "order_depth": order_depth, "order_setting": {
                    "shape": list(o["shape"]), "hidden": o["hidden"], "init_scale": o["init_scale"],
                    "horizon": o["horizon"], "n_times": o["n_times"],
                    "iterations": list(o["iterations"]), "per_seed_orders": list(fit.per_seed)},
                "saxe_setting": {"strengths": sx["strengths"].tolist(), "u0": sx["u0"],
                                 "tau": sx["tau"]},
                "figures": figures, "source": EXPERIMENT_SOURCE,
                "criteria": {"order_ci_contains_1": order_ok, "saxe_error_le_1e-6": saxe_ok,
                             **comp_crit}}
    return Report(records=records, metadata=metadata, passed=passed, summary=summary)


EXPERIMENT_SOURCE = ("Arora, Cohen & Hazan 2018 (arXiv 1802.06509) Thm 1; Saxe, McClelland & Ganguli "
                     "2014 (arXiv 1312.6120); Arora, Cohen, Hu & Luo 2019 (arXiv 1905.13655); Razin & "
                     "Cohen 2020 (arXiv 2005.06398); Cohen & Razin 2024 (arXiv 2408.13767)")

EXPERIMENT = Experiment(
    name="deep-linear",
    description="deep linear networks: layer GD vs the end-to-end ODE (fitted order), Saxe et al.'s "
                "closed form, effective rank of matrix completion vs depth",
    options=(
        Option("seeds", 5, "independent seeds (>= 2) for every measurement"),
        Option("size", 20, "matrix completion: side of the square target"),
        Option("rank", 2, "matrix completion: rank of the target"),
        Option("observed", 0.35, "matrix completion: fraction of observed entries"),
        Option("init_scale", 1e-2, "matrix completion: initialization scale (per layer or end to "
                                   "end, see --init)"),
        Option("init", "layer", "matrix completion: 'layer' (every layer at init_scale, end-to-end "
                                "scale init_scale^N) or 'end-to-end' (the product at init_scale at "
                                "every depth)"),
        Option("depths", (1, 2, 3), "matrix completion: depths to compare", many=True),
        Option("order_depth", 3, "depth of the GD-vs-ODE order measurement"),
        Option("seed", 0, "base random seed"),
        Option("plot", "", "directory or path prefix for the two figures ('' = none)"),
    ),
    run=run,
    source=EXPERIMENT_SOURCE,
)
