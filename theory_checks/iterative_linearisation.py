"""Iterative linearisation: from gradient descent (K = 1) to lazy training (K = oo).

Source: A. Goldwaser and H. Ge, *Learning deep neural networks by iterative linearisation*, arXiv
`2211.12345 <https://arxiv.org/abs/2211.12345>`_ (NeurIPS 2022 OPT workshop): train the linearization
of the network around the current parameters for ``K`` gradient steps, then relinearize around the
parameters reached. ``K = 1`` is gradient descent (the gradient of the linearized loss at the
linearization point is the network's gradient); ``K = oo`` never relinearizes, i.e. it is lazy
training, the linearized model of :mod:`theory_checks.lazy` (Lee et al. 2019, arXiv 1902.06720; Chizat,
Oyallon & Bach 2019, arXiv 1812.07956); in between, the features (the empirical NTK) are updated only
every ``K`` steps. (The paper's Algorithm is recalled, not re-read here; the two end points are checked
exactly in ``tests/test_iterative_linearisation.py``.)

The algorithm (notation of :mod:`theory_checks.lazy`)
---------------------------------------------------
Loss ``(1/(2 n c)) ||g - y||^2`` with ``c = alpha^2`` (Chizat et al.'s scaling). With the current
linearization point ``theta_a`` (the *anchor*), the model is
``g(x; theta) = f(x; theta_a) + J_a(x) (theta - theta_a)`` and a step is
``theta <- theta - (eta/(n c)) J_a^T (g(X; theta) - y)``. After ``K`` steps the anchor moves to the
current parameters. Equivalently, in function space, the residual of a block obeys
``r_{s+1} = (I - (eta/n) K_a) r_s`` (``K_a = J_a J_a^T / c``) and the block's displacement is
``-(eta/(n c)) J_a^T sum_s r_s``; the implementation uses this form (one NTK and one backward pass per
block) when it is cheaper than ``K`` Jacobian-vector products, and the parameter-space form
otherwise (always for ``K = 1``, which then performs exactly the arithmetic of gradient descent).

The predictor after ``t`` steps is the model the algorithm holds: the linearization around the last
anchor ``theta_{K floor(t/K)}``. When ``t`` is a multiple of ``K`` the anchor is ``theta_t`` itself
and the predictor is the network ``f(x; theta_t)``. Hence after ``T`` steps: ``K = 1`` gives gradient
descent's network, and ``K > T`` (written ``K = oo``) gives the linearized model at initialization,
i.e. lazy training.

Feature movement is measured on held-out inputs by the empirical NTK at the final anchor (the
features the predictor uses): its relative change ``||K_a - K_0||_F / ||K_0||_F`` and its centered
kernel-target alignment ``A(K) = <H K H, y y^T>_F / (||H K H||_F ||H y||^2)`` (``H = I - 11^T/m``;
Cortes, Mohri & Rostamizadeh 2012, arXiv 1203.0550; Cristianini et al. 2002 without centering).

Example:
    >>> import numpy as np
    >>> from theory_checks.lazy import Network, make_task, train_gd
    >>> X, y, Xt, yt = make_task("he2", np.random.default_rng(0), 20, 10, 5)
    >>> net = Network(d=5, width=16, activation="relu")
    >>> theta0 = net.init(np.random.default_rng(1))
    >>> one = iterative_linearisation(net, theta0, X, y, K=1, eta=1.0, steps=30, X_test=Xt)
    >>> gd = train_gd(net, theta0, X, y, eta=1.0, steps=30, times=[30], X_test=Xt)
    >>> float(np.max(np.abs(one.theta - gd.theta)))
    0.0
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np

from asymptotics._validation import check_int, check_real
from .lazy import (Network, _check_problem, _scalar, linearized_closed_form, loss_factor,
                   make_task, train_gd)

__all__ = ["ILResult", "iterative_linearisation", "alignment", "run", "EXPERIMENT"]


@dataclass(frozen=True)
class ILResult:
    """The outcome of :func:`iterative_linearisation`.

    Attributes:
        theta: parameters after ``steps`` steps.
        anchor: the final linearization point (``theta`` itself when ``steps`` is a multiple of K).
        train, test: the predictor (module docstring) on the training and test inputs.
        relinearisations: how many times the model was relinearized (including at step 0).
    """

    theta: np.ndarray
    anchor: np.ndarray
    train: np.ndarray
    test: np.ndarray
    relinearisations: int


def _block_in_function_space(net: Network, b: int, n: int) -> bool:
    """Cheaper to run a block of ``b`` linear steps with the n x n NTK than with b jvp/vjp pairs?"""
    if b == 1:
        return False
    param_cost = 2.0 * b * n * net.n_params
    ntk_cost = n * n * net.width * net.depth + b * n * n + n * net.n_params
    return ntk_cost < param_cost


def _blocks(net, theta, anchor, X, y, K, eta, step, steps, c):
    """The blocks of ``K`` linear steps; returns ``(theta, last anchor, number of anchors)``."""
    n = X.shape[0]
    t, relin = 0, 0
    while t < steps:
        anchor = theta
        relin += 1
        Hs, Ds, fa = net._forward(anchor, X)
        b = min(K, steps - t)
        if _block_in_function_space(net, b, n):
            Ka = net.ntk(anchor, X) / c
            r = fa - y
            acc = np.zeros(n)
            for _ in range(b):
                acc += r
                r = r - (eta / n) * (Ka @ r)
            theta = anchor - step * net._vjp(anchor, Hs, Ds, acc)
        else:
            for s in range(b):
                g = fa if s == 0 else fa + net._jvp(anchor, Hs, Ds, theta - anchor)
                theta = theta - step * net._vjp(anchor, Hs, Ds, g - y)
        if not np.all(np.isfinite(theta)):
            raise ValueError(f"iterative linearisation diverged before step {t + b}; lower eta (got {eta})")
        t += b
    return theta, anchor, relin


def iterative_linearisation(net: Network, theta0, X, y, *, K, eta: float, steps: int, X_test=None,
                            scale_loss: bool = True) -> ILResult:
    """Train by ``K`` gradient steps on the linearization around the current parameters, then
    relinearize (module docstring).

    Args:
        net, theta0, X, y: network, initial parameters and training set (as in :func:`train_gd`).
        K: steps per linearization, an integer ``>= 1``, or ``None`` / ``math.inf`` for never
            relinearizing (lazy training); any ``K > steps`` is the same as ``K = oo``.
        eta, steps: learning rate and total number of steps.
        X_test: optional test inputs.
        scale_loss: loss divided by ``alpha^2``.
    """
    theta0, X, y, Xt = _check_problem(net, theta0, X, y, X_test)
    eta = _scalar("eta", eta, low=0.0, low_open=True)
    steps = check_int("steps", steps, low=0)
    if K is None or (isinstance(K, float) and math.isinf(K) and K > 0):
        K = steps + 1
    K = check_int("K", K, low=1)
    n = X.shape[0]
    c = loss_factor(net, scale_loss)
    step = eta / (n * c)
    theta = theta0.copy()
    anchor = theta0
    with np.errstate(over="ignore", invalid="ignore"):      # divergence is reported below
        theta, anchor, relin = _blocks(net, theta, anchor, X, y, K, eta, step, steps, c)
    if K <= steps and steps % K == 0:
        anchor, relin = theta, relin + 1                 # relinearize at the end: the network itself
    if anchor is theta:
        train = net.forward(theta, X)
        test = net.forward(theta, Xt) if Xt.shape[0] else np.empty(0)
    else:
        delta = theta - anchor
        train = net.forward(anchor, X) + net.jvp(anchor, X, delta)
        test = net.forward(anchor, Xt) + net.jvp(anchor, Xt, delta) if Xt.shape[0] else np.empty(0)
    return ILResult(theta, anchor, train, test, relin)


def alignment(K, y) -> float:
    """Centered kernel-target alignment ``<HKH, yy^T> / (||HKH||_F ||Hy||^2)`` in ``[-1, 1]``.

    >>> y = np.array([1.0, -1.0, 2.0, 0.0])
    >>> round(alignment(np.outer(y, y), y), 12)     # the ideal kernel
    1.0
    """
    K = check_real("K", K)
    y = check_real("y", y)
    if K.ndim != 2 or K.shape != (y.size, y.size):
        raise ValueError(f"K must have shape ({y.size}, {y.size}), got {K.shape}")
    Kc = K - K.mean(axis=0, keepdims=True)
    Kc = Kc - Kc.mean(axis=1, keepdims=True)
    yc = y - y.mean()
    den = np.linalg.norm(Kc) * float(yc @ yc)
    if den == 0.0:
        raise ValueError("alignment is undefined for a constant kernel or a constant target")
    return float(yc @ Kc @ yc / den)


# ------------------------------------------------------------------------------------------------
# the experiment
# ------------------------------------------------------------------------------------------------
#: the task whose target lies in the initial NTK's top eigenspace (a kernel-easy control)
NTK_TOP = "ntk-top"
#: its number of eigenvectors
NTK_TOP_RANK = 8


def ntk_top_target(net: Network, theta0, X, X_test, rng: np.random.Generator, rank: int = NTK_TOP_RANK):
    """A target in the top eigenspace of the initial empirical NTK: on the pooled inputs
    ``Z = (X, X_test)``, ``y = V g`` standardized, with ``V`` the eigenvectors ``2..rank+1`` of
    ``K0(Z, Z)`` (the first, nearly constant for ReLU, is skipped) and ``g ~ N(0, I)``. Lazy training
    with the same kernel learns it from few samples, so feature learning cannot help.

    Returns:
        ``(y, y_test)``.
    """
    Z = np.vstack([X, X_test])
    rank = check_int("rank", rank, low=1, high=Z.shape[0] - 1)
    _, U = np.linalg.eigh(net.ntk(theta0, Z))
    V = U[:, -1 - rank:-1]
    yz = V @ rng.standard_normal(rank)
    yz = (yz - yz.mean()) / yz.std()
    return yz[:X.shape[0]], yz[X.shape[0]:]


#: tolerance of the two exact end points (K = 1 against GD, K = oo against the closed-form lazy model)
EXACT_TOL = 1e-10


def _one_seed(task, task_idx, s, *, seed, d, n, m_test, m_align, width, depth, activation, alpha, eta,
              steps, ks):
    rng = np.random.default_rng(np.random.SeedSequence([seed, 31, task_idx, s]))
    X, y, Xt, yt = make_task("linear" if task == NTK_TOP else task, rng, n, m_test, d)
    net = Network(d=d, width=width, depth=depth, alpha=alpha, activation=activation)
    theta0 = net.init(rng, centered=True)
    if task == NTK_TOP:
        y, yt = ntk_top_target(net, theta0, X, Xt, rng)
    Xa, ya = Xt[:m_align], yt[:m_align]
    K0 = net.ntk(theta0, Xa)
    K0n = np.linalg.norm(K0)
    out = []
    for K in ks:
        res = iterative_linearisation(net, theta0, X, y, K=None if K == 0 else K, eta=eta, steps=steps,
                                      X_test=Xt)
        Ka = K0 if res.anchor is theta0 or np.array_equal(res.anchor, theta0) else net.ntk(res.anchor, Xa)
        out.append(dict(test_error=float(np.mean((res.test - yt) ** 2)),
                        train_error=float(np.mean((res.train - y) ** 2)),
                        alignment=alignment(Ka, ya), kernel_change=float(np.linalg.norm(Ka - K0) / K0n),
                        relinearisations=res.relinearisations, _res=res))
    # the two end points, computed independently (gradient descent: on the first seed only, it costs
    # as much as K = 1 itself)
    # (run() guarantees that ks contains 1 and 0)
    first = out[ks.index(1)]["_res"] if s == 0 else None
    last = out[ks.index(0)]["_res"]
    if first is not None:
        gd = train_gd(net, theta0, X, y, eta=eta, steps=steps, times=[steps], X_test=Xt)
    lazy = linearized_closed_form(net, theta0, X, y, times=[steps], eta=eta, X_test=Xt)
    ends = dict(
        gd_theta=float(np.max(np.abs(first.theta - gd.theta))) if first is not None else None,
        gd_test=float(np.max(np.abs(first.test - gd.test[-1]))) if first is not None else None,
        lazy_theta=float(np.max(np.abs(last.theta - lazy.theta))),
        lazy_test=float(np.max(np.abs(last.test - lazy.test[-1]))),
        lazy_train=float(np.max(np.abs(last.train - lazy.train[-1]))))
    for o in out:
        del o["_res"]
    return out, ends


def run(*, tasks=("he2", "linear", NTK_TOP), ks=(1, 4, 16, 64, 256, 512, 0), d: int = 30, n: int = 200,
        m_test: int = 1000, m_align: int = 300, width: int = 256, depth: int = 2,
        activation: str = "relu", alpha: float = 0.25, eta: float = 2.0, steps: int = 1000,
        seeds: int = 3, seed: int = 0, plot: str = ""):
    """Test error and feature movement of iterative linearisation as a function of ``K``.

    For every task and seed: data (``n`` training, ``m_test`` test points, ``d`` dimensions) and an
    antisymmetric initialization (``f_0 = 0``) of a ``depth``-layer network of width ``width`` and
    scale ``alpha`` (small ``alpha`` = far from the lazy regime, Chizat et al.); then
    :func:`iterative_linearisation` for every ``K`` in ``ks`` (``0`` means ``K = oo``, lazy training)
    with ``steps`` steps of size ``eta``, gradient descent and the closed-form lazy model.

    Records (one per task and K, means over seeds): ``test_error`` (``mean (g(x) - y)^2`` on the test
    set; the targets have unit variance) and its standard error ``test_se``, ``train_error``, the
    centered ``alignment`` of the final anchor's NTK with the target and its ``kernel_change``
    (relative to the initial NTK) on ``m_align`` test inputs, and the number of relinearisations.

    ``ks`` must contain ``1`` and ``0`` (the two end points the verdict compares).

    Pass: ``K = 1`` equals gradient descent (checked on the first seed of every task) and ``K = oo``
    equals the closed-form lazy model (every seed) to :data:`EXACT_TOL` (max abs difference of
    parameters and test outputs), and on the first task
    the test error is non-decreasing in ``K`` within 3 paired standard errors (over seeds) at every
    consecutive pair, with lazy worse than GD by more than 3 paired standard errors.
    """
    if isinstance(tasks, str):
        tasks = (tasks,)
    tasks = tuple(tasks)
    if not tasks:
        raise ValueError("tasks must name at least one task")
    from .lazy import _TARGETS
    for task in tasks:
        if task not in _TARGETS and task != NTK_TOP:
            raise ValueError(f"tasks must be among {sorted(_TARGETS) + [NTK_TOP]}, got {task!r}")
    ks = [check_int("ks", k, low=0) for k in np.atleast_1d(ks)]
    if len(set(ks)) != len(ks) or len(ks) < 2:
        raise ValueError(f"ks must hold at least 2 distinct values (0 = oo), got {ks}")
    if 1 not in ks or 0 not in ks:
        raise ValueError(f"ks must contain 1 (gradient descent) and 0 (K = oo, lazy training): the "
                         f"verdict compares lazy training with GD and checks both exact end points, "
                         f"got {ks}")
    ks = sorted(ks, key=lambda k: math.inf if k == 0 else k)
    d, n = check_int("d", d, low=1), check_int("n", n, low=2)
    m_test = check_int("m_test", m_test, low=2)
    m_align = min(check_int("m_align", m_align, low=2), m_test)
    width = check_int("width", width, low=2)
    if width % 2:
        raise ValueError(f"width must be even (antisymmetric init), got {width}")
    seeds, seed = check_int("seeds", seeds, low=2), check_int("seed", seed, low=0)
    steps = check_int("steps", steps, low=1)
    eta = _scalar("eta", eta, low=0.0, low_open=True)
    alpha = _scalar("alpha", alpha, low=0.0, low_open=True)
    Network(d=d, width=width, depth=depth, alpha=alpha, activation=activation)   # validates
    start = time.perf_counter()
    records, ends_all, trend = [], [], {}
    for ti, task in enumerate(tasks):
        per_seed = []
        for s in range(seeds):
            out, ends = _one_seed(task, ti, s, seed=seed, d=d, n=n, m_test=m_test, m_align=m_align,
                                  width=width, depth=depth, activation=activation, alpha=alpha,
                                  eta=eta, steps=steps, ks=ks)
            per_seed.append(out)
            ends_all.append(ends)
        err = np.array([[o["test_error"] for o in out] for out in per_seed])     # (seeds, len(ks))
        for j, K in enumerate(ks):
            col = [out[j] for out in per_seed]
            records.append(dict(
                task=task, K=math.inf if K == 0 else K,
                test_error=float(err[:, j].mean()),
                test_se=float(err[:, j].std(ddof=1) / math.sqrt(seeds)),
                train_error=float(np.mean([o["train_error"] for o in col])),
                alignment=float(np.mean([o["alignment"] for o in col])),
                kernel_change=float(np.mean([o["kernel_change"] for o in col])),
                relinearisations=float(np.mean([o["relinearisations"] for o in col]))))
        diffs = np.diff(err, axis=1)                                             # consecutive K
        dse = diffs.std(axis=0, ddof=1) / math.sqrt(seeds)
        gap = err[:, -1] - err[:, 0]
        dm = diffs.mean(axis=0)
        up, down = bool(np.all(dm >= -3.0 * dse)), bool(np.all(dm <= 3.0 * dse))
        trend[task] = dict(
            monotone=up,
            direction=("flat within 3 s.e." if up and down else "non-decreasing" if up and np.all(dm >= 0)
                       else "non-decreasing within 3 s.e." if up else "non-increasing" if np.all(dm <= 0)
                       else "non-increasing within 3 s.e." if down else "not monotone"),
            gap=float(gap.mean()), gap_se=float(gap.std(ddof=1) / math.sqrt(seeds)),
            steps_in_se=[float(v) for v in dm / np.where(dse > 0, dse, np.inf)])
    elapsed = time.perf_counter() - start

    def worst(key):      # gd_*: first seed of each task only (None on the others)
        return max(e[key] for e in ends_all if e[key] is not None)

    ends = {k: worst(k) for k in ("gd_theta", "gd_test", "lazy_theta", "lazy_test", "lazy_train")}
    exact_ok = all(v <= EXACT_TOL for v in ends.values())
    t0 = trend[tasks[0]]
    passed = exact_ok and t0["monotone"] and t0["gap"] > 3.0 * t0["gap_se"]
    lines = [f"K = 1 vs gradient descent: max |theta diff| = {ends['gd_theta']:.1e}, "
             f"max |test output diff| = {ends['gd_test']:.1e}.",
             f"K = oo vs closed-form lazy model: max |theta diff| = {ends['lazy_theta']:.1e}, "
             f"max |test output diff| = {ends['lazy_test']:.1e} (tolerance {EXACT_TOL:g})."]
    for task in tasks:
        tr = trend[task]
        lines.append(f"Task {task}: test error lazy - GD = {tr['gap']:+.4f} +- {tr['gap_se']:.4f}; "
                     f"test error vs K {tr['direction']} (consecutive changes in paired s.e.: "
                     f"{', '.join(f'{v:+.1f}' for v in tr['steps_in_se'])}).")
    lines.append("PASS." if passed else "FAIL.")
    metadata = dict(experiment="iterative-linearisation", tasks=list(tasks), ks=[math.inf if k == 0 else k for k in ks],
                    d=d, n=n, m_test=m_test, m_align=m_align, width=width, depth=depth,
                    activation=activation, alpha=alpha, eta=eta, steps=steps, seeds=seeds, seed=seed,
                    init="antisymmetric (f_0 = 0)", loss="(1/(2 n alpha^2)) ||g(X) - y||^2",
                    end_points=ends, trend=trend, exact_tol=EXACT_TOL, seconds=round(elapsed, 2),
                    source="Goldwaser & Ge arXiv 2211.12345; Chizat, Oyallon & Bach arXiv 1812.07956; "
                           "Lee et al. arXiv 1902.06720")
    if plot:
        _plot(records, tasks, plot, metadata)
    from .experiments import Report
    return Report(records=records, metadata=metadata, passed=bool(passed), summary=" ".join(lines))


def _plot(records, tasks, path, metadata):
    try:
        from matplotlib.figure import Figure
    except ImportError as exc:  # pragma: no cover
        raise ImportError("plotting needs matplotlib: pip install asymptotics[plot]") from exc
    fig = Figure(figsize=(10.4, 4.0), layout="constrained")
    ax1, ax2 = fig.add_subplot(1, 2, 1), fig.add_subplot(1, 2, 2)
    for task in tasks:
        rows = [r for r in records if r["task"] == task]
        finite = [r["K"] for r in rows if not math.isinf(r["K"])]
        big = max(finite) * 4 if finite else 1.0
        xs = np.array([big if math.isinf(r["K"]) else r["K"] for r in rows], dtype=float)
        e = np.array([r["test_error"] for r in rows])
        se = np.array([r["test_se"] for r in rows])
        (line,) = ax1.plot(xs, e, "o-", label=f"{task}")
        ax1.errorbar(xs, e, yerr=se, fmt="none", color=line.get_color())
        ax2.plot(xs, [r["alignment"] for r in rows], "o-", color=line.get_color(),
                 label=f"{task}: alignment")
        ax2.plot(xs, [r["kernel_change"] for r in rows], "s--", color=line.get_color(),
                 label=f"{task}: NTK change")
    for ax in (ax1, ax2):
        ax.set_xscale("log")
        ticks = sorted(set(float(r["K"]) for r in records if not math.isinf(r["K"])))
        big = max(ticks) * 4
        ax.set_xticks(ticks + [big])
        ax.set_xticklabels([f"{int(t)}" for t in ticks] + [r"$\infty$ (lazy)"])
        ax.set_xlabel("K (gradient steps per linearisation; K = 1 is GD)")
        ax.legend(fontsize=8)
    ax1.set_yscale("log")
    ax1.set_ylabel("test error (mean over seeds, ± 1 s.e.)")
    ax2.set_ylabel("centered NTK-target alignment / relative NTK change")
    ax1.set_title(f"d = {metadata['d']}, n = {metadata['n']}, N = {metadata['width']}, "
                  f"{metadata['activation']}, alpha = {metadata['alpha']:g}, {metadata['steps']} steps",
                  fontsize=9)
    ax2.set_title("features at the final linearisation point", fontsize=9)
    fig.savefig(path, dpi=130)


def _experiment():
    from .experiments import Experiment, Option
    return Experiment(
        name="iterative-linearisation",
        description="iterative linearisation (K GD steps per linearisation): test error and feature "
                    "movement from gradient descent (K = 1) to lazy training (K = oo)",
        options=(
            Option("tasks", ("he2", "linear", NTK_TOP), "targets: g(<u,x>) for he2, he3, relu, linear, "
                   "tanh, or ntk-top (initial NTK's top eigenspace); the first is tested for the trend",
                   many=True),
            Option("ks", (1, 4, 16, 64, 256, 512, 0),
                   "steps per linearisation (0 = oo, lazy); must include 1 and 0", many=True),
            Option("d", 30, "input dimension"),
            Option("n", 200, "training points"),
            Option("m_test", 1000, "test points"),
            Option("m_align", 300, "test points used for the NTK alignment and change"),
            Option("width", 256, "hidden width (even)"),
            Option("depth", 2, "number of weight layers"),
            Option("activation", "relu", "tanh, erf or relu"),
            Option("alpha", 0.25, "output scale (small = rich regime)"),
            Option("eta", 2.0, "learning rate"),
            Option("steps", 1000, "gradient steps"),
            Option("seeds", 3, "independent draws of data and init (>= 2)"),
            Option("seed", 0, "master seed"),
            Option("plot", "", "write the test-error-vs-K figure to this path ('' = none)"),
        ),
        run=run,
        source="Goldwaser & Ge arXiv 2211.12345",
    )


EXPERIMENT = _experiment()
