"""Deep linear networks: end-to-end dynamics, mode learning curves, convergence conditions.

Setting (Cohen & Razin 2024, "Lecture notes on linear neural networks", arXiv 2408.13767; Arora,
Cohen & Hazan 2018, arXiv 1802.06509): a depth-``N`` linear network ``x -> W_N ... W_1 x`` with
layers ``W_j`` of shape ``d_j x d_{j-1}``, trained by gradient flow on a loss of its
**end-to-end matrix** ``W = W_N ... W_1`` (shape ``m x n``, ``m = d_N``, ``n = d_0``)::

    L(W_1, ..., W_N) = l(W_N ... W_1),      dW_j/dt = -dL/dW_j.

Conventions used everywhere here (each docs example and test restates them):

* **time**: ``t`` is gradient-flow time; gradient descent with step ``eta`` reaches ``t = k eta``
  after ``k`` iterations. Saxe et al.'s time constant ``tau`` (= 1/learning rate, time counted in
  iterations) enters only where stated, as ``tau dsigma/dt = ...``; ``tau = 1`` is the default.
* **whitened regression**: inputs ``X`` (``n x P``) with ``X X^T = I_n`` and outputs ``Y``; the loss
  ``1/2 ||Y - W X||_F^2 = 1/2 ||W - Phi||_F^2 + const`` with target ``Phi = Y X^T``. So
  ``l(W) = 1/2 ||W - Phi||_F^2`` and ``grad l(W) = W - Phi`` (:func:`whitened_loss`).
* **balancedness**: ``W_{j+1}^T W_{j+1} = W_j W_j^T`` for ``j = 1..N-1``; the imbalance of a
  tuple of layers is ``delta = max_j ||W_{j+1}^T W_{j+1} - W_j W_j^T||_F`` (:func:`imbalance`).
  Gradient flow conserves every ``W_{j+1}^T W_{j+1} - W_j W_j^T`` (Arora, Cohen & Hazan 2018,
  proof of Thm 1), so a balanced initialization stays balanced.

Results written once in sympy (:func:`end_to_end_ode`, :func:`singular_value_ode`,
:func:`mode_ode`, :func:`saxe_closed_form`) and evaluated numerically:

* **End-to-end dynamics** (Arora, Cohen & Hazan 2018, Thm 1; Cohen & Razin 2024): under balanced
  initialization the end-to-end matrix follows

      dW/dt = -sum_{j=1}^N (W W^T)^{(j-1)/N} grad l(W) (W^T W)^{(N-j)/N}

  (:func:`end_to_end_velocity`, integrated by :func:`end_to_end_flow`).
* **Singular value dynamics** (Arora, Cohen, Hu & Luo 2019, arXiv 1905.13655, Thm 3): with
  ``W = sum_r sigma_r u_r v_r^T``, ``dsigma_r/dt = -N sigma_r^{2-2/N} <grad l(W), u_r v_r^T>``
  (:func:`singular_value_velocity`).
* **One mode** (whitened loss, initialization aligned with the singular vectors of ``Phi``, mode
  strength ``s``): ``tau dsigma/dt = N sigma^{2-2/N} (s - sigma)`` (:func:`mode_ode`,
  :func:`mode_trajectory`); at ``N = 2`` Saxe, McClelland & Ganguli's sigmoid
  ``u(t) = s e^{2st/tau} / (e^{2st/tau} - 1 + s/u0)`` (arXiv 1312.6120, the exact single-mode
  solution of the three-layer network for balanced ``a = b``; :func:`saxe_learning_curve`), and for
  every ``N`` the time to learn a mode in closed form (:func:`time_to_learn`,
  :func:`time_to_learn_small_init`).
* **Convergence conditions** (Arora, Cohen, Golowich & Hu 2019, arXiv 1810.02281, Defs. 1-2 and
  Thm 1): approximate balancedness and deficiency margin (:func:`convergence_conditions`).
* **Effective rank** (Roy & Vetterli 2007): ``erank(W) = exp(-sum_k p_k log p_k)``,
  ``p_k = sigma_k / sum_i sigma_i`` (:func:`effective_rank`), the measure of rank in the matrix
  completion experiments of Arora, Cohen, Hu & Luo 2019 and Razin & Cohen 2020 (arXiv 2005.06398).

Examples:
    >>> print(mode_ode(2).latex())
    \\tau \\frac{d}{d t} \\sigma{\\left(t \\right)} = 2 \\left(s - \\sigma{\\left(t \\right)}\\right) \\sigma{\\left(t \\right)}
    >>> round(float(saxe_learning_curve(1.0, s=2.0, u0=0.01)), 10)   # 2 e^4 / (e^4 - 1 + 200)
    0.4305879205
    >>> round(float(time_to_learn(2, s=2.0, sigma0=0.01, sigma1=1.0)), 10)   # ln(199) / 4
    1.3233262062
    >>> import numpy as np
    >>> layers = balanced_factorization(np.diag([2.0, 1.0]), depth=3, seed=0)
    >>> imbalance(layers) < 1e-14, np.allclose(product(layers), np.diag([2.0, 1.0]))
    (True, True)
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
import sympy as sp
from scipy.integrate import solve_ivp
from scipy.special import hyp2f1

from .._validation import as_output, check_int, check_real

__all__ = [
    "SOURCES", "Equation", "end_to_end_ode", "singular_value_ode", "mode_ode", "mode_rhs",
    "saxe_closed_form", "saxe_learning_curve", "mode_trajectory", "time_to_learn",
    "time_to_learn_small_init", "end_to_end_velocity", "singular_value_velocity", "end_to_end_flow",
    "whitened_loss", "balanced_factorization", "product", "imbalance", "ConvergenceReport",
    "convergence_conditions", "effective_rank", "latex_equations",
]

SOURCES = {
    "end_to_end": "Arora, Cohen & Hazan 2018, arXiv 1802.06509, Thm 1; Cohen & Razin 2024, arXiv "
                  "2408.13767 (end-to-end dynamics)",
    "singular_values": "Arora, Cohen, Hu & Luo 2019, arXiv 1905.13655, Thm 3",
    "saxe": "Saxe, McClelland & Ganguli 2014, arXiv 1312.6120 (exact single-mode solution, "
            "balanced a = b, whitened inputs)",
    "convergence": "Arora, Cohen, Golowich & Hu 2019, arXiv 1810.02281, Defs. 1-2, Thm 1",
    "effective_rank": "Roy & Vetterli 2007 (EUSIPCO), as used by Arora, Cohen, Hu & Luo 2019, "
                      "arXiv 1905.13655, and Razin & Cohen 2020, arXiv 2005.06398",
}

# ------------------------------------------------------------------------------------------------
# symbols
# ------------------------------------------------------------------------------------------------
t = sp.Symbol("t", nonnegative=True)
tau = sp.Symbol("tau", positive=True)
s = sp.Symbol("s", positive=True)
u0 = sp.Symbol("u_0", positive=True)
N = sp.Symbol("N", positive=True, integer=True)
_j = sp.Symbol("j", positive=True, integer=True)
sigma = sp.Function("sigma")
sigma_r = sp.Function("sigma_r")
#: <grad l(W), u_r v_r^T>, the gradient projected on the r-th singular component
g_r = sp.Symbol(r"\langle \nabla\ell(W), u_r v_r^{\top} \rangle", real=True)
_m, _n = sp.symbols("m n", positive=True, integer=True)
_W = sp.MatrixSymbol("W", _m, _n)
_G = sp.MatrixSymbol(r"\nabla\ell(W)", _m, _n)
_Wdot = sp.MatrixSymbol(r"\dot{W}", _m, _n)


@dataclass(frozen=True)
class Equation:
    """A dynamical equation, written in sympy.

    Attributes:
        name: what it is.
        eq: the ``sympy.Eq``.
        depth: the depth ``N`` substituted, or ``None`` for a symbolic ``N``.
        source: paper, arXiv id, theorem.
    """

    name: str
    eq: sp.Eq
    depth: int | None
    source: str

    def latex(self) -> str:
        """``sympy.latex`` of the equation (what the docs page shows)."""
        return sp.latex(self.eq)


def _depth_or_symbol(depth):
    if depth is None:
        return N
    return sp.Integer(check_int("depth", depth, low=1))


def end_to_end_ode(depth: int | None = None) -> Equation:
    """The end-to-end dynamics of a balanced depth-``N`` linear network (matrix symbols).

    ``dW/dt = -sum_{j=1}^N (W W^T)^{(j-1)/N} grad l(W) (W^T W)^{(N-j)/N}`` (Arora, Cohen & Hazan
    2018, arXiv 1802.06509, Thm 1, without weight decay, time in units of the learning rate).

    Args:
        depth: ``N`` (an integer ``>= 1``: the sum is written out), or ``None`` (symbolic ``N``).

    >>> print(end_to_end_ode(2).latex())
    \\dot{W} = - \\left(W W^{T}\\right)^{\\frac{1}{2}} \\nabla\\ell(W) - \\nabla\\ell(W) \\left(W^{T} W\\right)^{\\frac{1}{2}}
    """
    n_ = _depth_or_symbol(depth)
    if depth is None:
        rhs = -sp.Sum(sp.MatPow(_W * _W.T, (_j - 1) / n_) * _G * sp.MatPow(_W.T * _W, (n_ - _j) / n_),
                      (_j, 1, n_))
    else:
        terms = []
        for j in range(1, int(n_) + 1):
            left = sp.Rational(j - 1, int(n_))
            right = sp.Rational(int(n_) - j, int(n_))
            term = _G
            if left != 0:
                term = sp.MatPow(_W * _W.T, left) * term
            if right != 0:
                term = term * sp.MatPow(_W.T * _W, right)
            terms.append(term)
        rhs = -sp.MatAdd(*terms) if len(terms) > 1 else -terms[0]
    return Equation("end-to-end dynamics", sp.Eq(_Wdot, rhs, evaluate=False), depth,
                    SOURCES["end_to_end"])


def singular_value_ode(depth: int | None = None) -> Equation:
    """``dsigma_r/dt = -N sigma_r^{2-2/N} <grad l(W), u_r v_r^T>`` (Arora, Cohen, Hu & Luo 2019,
    arXiv 1905.13655, Thm 3; their ``(sigma_r^2)^{1-1/N}``).

    >>> print(singular_value_ode(3).latex())
    \\frac{d}{d t} \\sigma_{r}{\\left(t \\right)} = - 3 \\langle \\nabla\\ell(W), u_r v_r^{\\top} \\rangle \\sigma_{r}^{\\frac{4}{3}}{\\left(t \\right)}
    """
    n_ = _depth_or_symbol(depth)
    rhs = -n_ * sigma_r(t) ** (2 - 2 / n_) * g_r
    return Equation("singular value dynamics", sp.Eq(sp.Derivative(sigma_r(t), t), rhs), depth,
                    SOURCES["singular_values"])


def mode_ode(depth: int | None = None) -> Equation:
    """One mode of whitened regression: ``tau dsigma/dt = N sigma^{2-2/N} (s - sigma)``.

    Derived here from :func:`singular_value_ode` by sympy: for ``l(W) = 1/2 ||W - Phi||_F^2`` and
    ``W`` aligned with the singular vectors of ``Phi`` (spectral initialization; alignment is
    preserved by the flow), ``<grad l(W), u_r v_r^T> = sigma_r - s_r`` with ``s_r`` the mode
    strength (singular value of ``Phi``); time is rescaled by Saxe et al.'s ``tau``. At ``N = 2``
    this is Saxe, McClelland & Ganguli's ``tau du/dt = 2u(s - u)`` (arXiv 1312.6120).

    >>> mode_ode(1).eq.rhs
    s - sigma(t)
    """
    sv = singular_value_ode(depth)
    rhs = sp.factor(sv.eq.rhs.subs(g_r, sigma_r(t) - s).subs(sigma_r(t), sigma(t)))
    return Equation("one mode, whitened loss", sp.Eq(tau * sp.Derivative(sigma(t), t), rhs), depth,
                    SOURCES["singular_values"] + "; " + SOURCES["saxe"])


def mode_rhs(depth: int):
    """``f(sigma, s, tau) = dsigma/dt`` of :func:`mode_ode`, lambdified to numpy (vectorized).

    >>> float(mode_rhs(2)(0.5, 1.0, 1.0))      # 2 sigma (s - sigma)
    0.5
    """
    return _mode_rhs(check_int("depth", depth, low=1))


@functools.lru_cache(maxsize=None)
def _mode_rhs(depth: int):
    eq = mode_ode(depth).eq
    x = sp.Symbol("x", positive=True)
    expr = (eq.rhs / tau).subs(sigma(t), x)
    return sp.lambdify((x, s, tau), expr, modules="numpy")


def saxe_closed_form():
    """Saxe, McClelland & Ganguli's single-mode solution as a sympy expression of ``t``.

    ``u(t) = s e^{2st/tau} / (e^{2st/tau} - 1 + s/u_0)`` solves ``tau du/dt = 2u(s - u)``,
    ``u(0) = u_0`` (arXiv 1312.6120: the strength ``u = a . b`` of a mode with balanced
    ``a = b`` in a depth-2 linear network with whitened inputs, input correlation ``I``).

    >>> sp.simplify(saxe_closed_form().subs(t, 0))
    u_0
    """
    e = sp.exp(2 * s * t / tau)
    return s * e / (e - 1 + s / u0)


# ------------------------------------------------------------------------------------------------
# numeric closed forms
# ------------------------------------------------------------------------------------------------
def saxe_learning_curve(time, s, u0, tau=1.0):
    """Saxe et al.'s depth-2 mode strength ``u(t) = s e^{2st/tau} / (e^{2st/tau} - 1 + s/u0)``.

    Convention (Saxe et al., arXiv 1312.6120): depth-2 network ``y = W_2 W_1 x`` trained on
    ``1/2 sum_mu ||y_mu - W_2 W_1 x_mu||^2`` with whitened inputs (input correlation
    ``Sigma_11 = sum_mu x_mu x_mu^T = I``), ``tau dW_j/dt = -dL/dW_j`` (``tau`` = 1/learning rate);
    ``s`` is a singular value of ``Sigma_31 = sum_mu y_mu x_mu^T`` (the mode strength) and ``u0``
    the initial strength ``a . b`` of the mode, with balanced ``a = b``. Evaluated as
    ``s / (1 + (s/u0 - 1) e^{-2st/tau})`` (no overflow). Broadcasts over its arguments.

    Args:
        time: ``t >= 0``.
        s: mode strength ``> 0``.
        u0: initial strength ``> 0``.
        tau: time constant ``> 0``.

    >>> float(saxe_learning_curve(0.0, 3.0, 0.2))
    0.2
    >>> saxe_learning_curve(1.0, 1.0, -0.1)
    Traceback (most recent call last):
    ...
    ValueError: u0 must be > 0, got -0.1
    """
    time = check_real("time", time, low=0.0, allow_inf=True)
    s = check_real("s", s, low=0.0, low_open=True)
    u0 = check_real("u0", u0, low=0.0, low_open=True)
    tau = check_real("tau", tau, low=0.0, low_open=True)
    with np.errstate(over="ignore"):
        out = s / (1.0 + (s / u0 - 1.0) * np.exp(-2.0 * s * time / tau))
    return as_output(out)


def _check_modes(depth, s, sigma0, sigma1):
    depth = check_int("depth", depth, low=1)
    s = check_real("s", s, low=0.0, low_open=True)
    sigma0 = check_real("sigma0", sigma0, low=0.0, low_open=True)
    sigma1 = check_real("sigma1", sigma1, low=0.0, low_open=True)
    s, sigma0, sigma1 = np.broadcast_arrays(s, sigma0, sigma1)
    if np.any(sigma0 >= sigma1) or np.any(sigma1 >= s):
        bad = np.argwhere((sigma0 >= sigma1) | (sigma1 >= s))[0] if s.ndim else ()
        raise ValueError(f"sigma0, sigma1, s must satisfy 0 < sigma0 < sigma1 < s (a mode being "
                         f"learned), got sigma0={float(sigma0[tuple(bad)])!r}, "
                         f"sigma1={float(sigma1[tuple(bad)])!r}, s={float(s[tuple(bad)])!r}")
    return depth, s, sigma0, sigma1


def _antiderivative(depth, x):
    """``F(x)`` with ``F'(x) = x^{a-1}/(1-x)``, ``a = (2-N)/N``: ``x^a/a 2F1(1, a; a+1; x)``."""
    a = (2.0 - depth) / depth
    return x ** a / a * hyp2f1(1.0, a, a + 1.0, x)


def time_to_learn(depth, s, sigma0, sigma1, tau=1.0):
    """Exact time for one mode to grow from ``sigma0`` to ``sigma1`` under :func:`mode_ode`.

    ``T = tau int_{sigma0}^{sigma1} dsigma / (N sigma^{2-2/N} (s - sigma))``. With ``x = sigma/s``,
    ``p = 2 - 2/N``, ``a = 1 - p = (2-N)/N``:

    * ``N = 1``: ``T = tau ln((s - sigma0)/(s - sigma1))``;
    * ``N = 2``: ``T = tau/(2s) ln(sigma1 (s - sigma0) / (sigma0 (s - sigma1)))`` (Saxe et al.
      2014, arXiv 1312.6120, their learning time ``t = tau/(2s) ln(u_f(s-u0)/(u0(s-u_f)))``);
    * ``N >= 3``: ``T = tau s^{-p}/N [F(x1) - F(x0)]``, ``F(x) = x^a/a 2F1(1, a; a+1; x)`` (term-by-term
      integration of ``x^{a-1}/(1-x) = sum_k x^{a+k-1}``; here ``-1 < a < 0``).

    Requires ``0 < sigma0 < sigma1 < s`` (a mode being learned from below); broadcasts.
    Per-layer initialization scale ``alpha`` with balanced spectral init gives ``sigma0 = alpha^N``.

    >>> round(float(time_to_learn(1, 1.0, 0.5, 0.75)), 12) == round(math.log(2), 12)
    True
    >>> time_to_learn(3, 1.0, 0.5, 1.5)
    Traceback (most recent call last):
    ...
    ValueError: sigma0, sigma1, s must satisfy 0 < sigma0 < sigma1 < s (a mode being learned), got sigma0=0.5, sigma1=1.5, s=1.0
    """
    depth, s, sigma0, sigma1 = _check_modes(depth, s, sigma0, sigma1)
    tau = check_real("tau", tau, low=0.0, low_open=True)
    if depth == 1:
        out = np.log((s - sigma0) / (s - sigma1))
    elif depth == 2:
        out = (np.log(sigma1 / sigma0) + np.log((s - sigma0) / (s - sigma1))) / (2 * s)
    else:
        p = 2.0 - 2.0 / depth
        out = s ** (-p) / depth * (_antiderivative(depth, sigma1 / s) - _antiderivative(depth, sigma0 / s))
    return as_output(tau * out)


def time_to_learn_small_init(depth, s, sigma0, sigma1, tau=1.0):
    """The ``sigma0 -> 0`` asymptotics of :func:`time_to_learn` (small initialization).

    * ``N = 1``: ``tau ln(s/(s - sigma1))``, error ``O(sigma0)``;
    * ``N = 2``: ``tau/(2s) ln(s sigma1 / (sigma0 (s - sigma1)))``, error ``O(sigma0)``;
    * ``N >= 3``: ``tau [sigma0^{-(N-2)/N} / (s (N-2)) + s^{-p}/N F(sigma1/s)]``, error
      ``O(sigma0^{2/N})`` (the next term of ``F`` at 0 is ``x^{a+1}/(a+1)``, ``a + 1 = 2/N``).

    The leading term ``sigma0^{-(N-2)/N}/(s(N-2))`` is the blow-up time of ``dsigma/dt = N s
    sigma^{2-2/N}``; with per-layer scale ``alpha`` (``sigma0 = alpha^N``) it is
    ``alpha^{-(N-2)}/(s(N-2))``: for ``N >= 3`` the plateau grows polynomially in ``1/alpha``, at
    ``N = 2`` logarithmically (Saxe et al. 2014), and at ``N = 1`` not at all.

    >>> exact = time_to_learn(3, 1.0, 1e-9, 0.5)
    >>> approx = time_to_learn_small_init(3, 1.0, 1e-9, 0.5)
    >>> abs(exact - approx) < 1e-5
    True
    """
    depth, s, sigma0, sigma1 = _check_modes(depth, s, sigma0, sigma1)
    tau = check_real("tau", tau, low=0.0, low_open=True)
    if depth == 1:
        out = np.log(s / (s - sigma1))
    elif depth == 2:
        out = (np.log(sigma1 / sigma0) + np.log(s / (s - sigma1))) / (2 * s)
    else:
        p = 2.0 - 2.0 / depth
        out = sigma0 ** (-(depth - 2.0) / depth) / (s * (depth - 2)) \
            + s ** (-p) / depth * _antiderivative(depth, sigma1 / s)
    return as_output(tau * out)


def mode_trajectory(times, depth, s, sigma0, tau=1.0, *, rtol=1e-12, atol=1e-14):
    """``sigma(t)`` of :func:`mode_ode` for several modes, by ``solve_ivp`` of the lambdified ODE.

    Args:
        times: increasing times ``>= 0`` (1-d).
        depth: ``N >= 1``.
        s: mode strengths ``> 0`` (1-d or scalar).
        sigma0: initial strengths ``> 0``, broadcast against ``s``.
        tau: time constant ``> 0``.
        rtol, atol: ``solve_ivp`` (DOP853) tolerances.

    Returns:
        Array of shape ``(len(times), n_modes)``.

    Raises:
        ValueError: bad input, or the integrator failed (its message is included; a ValueError
            so that the command line reports it as a message, not a traceback).

    >>> sig = mode_trajectory([0.0, 1.0], 2, s=[2.0], sigma0=[0.01])
    >>> bool(abs(sig[1, 0] - saxe_learning_curve(1.0, 2.0, 0.01)) < 1e-10)
    True
    """
    times = _check_times(times)
    depth = check_int("depth", depth, low=1)
    s = np.atleast_1d(check_real("s", s, low=0.0, low_open=True))
    sigma0 = np.atleast_1d(check_real("sigma0", sigma0, low=0.0, low_open=True))
    tau = float(check_real("tau", tau, low=0.0, low_open=True))
    s, sigma0 = np.broadcast_arrays(s, sigma0)
    if s.ndim != 1:
        raise ValueError(f"s and sigma0 must be scalars or 1-d arrays, got shape {s.shape}")
    f = mode_rhs(depth)
    s_ = s.astype(float).copy()

    def rhs(_t, y):
        return f(np.maximum(y, 0.0), s_, tau)

    return _integrate(rhs, sigma0.astype(float).copy(), times, rtol, atol).reshape(len(times), -1)


def _check_times(times):
    """``times`` as a 1-d float array: finite, ``>= 0``, non-decreasing (repeats allowed), else a
    ``ValueError`` naming ``times``."""
    times = np.atleast_1d(check_real("times", times, low=0.0))
    if times.ndim != 1:
        raise ValueError(f"times must be a 1-d array, got shape {times.shape}")
    if np.any(np.diff(times) < 0):
        first = int(np.argmax(np.diff(times) < 0))
        raise ValueError(f"times must be non-decreasing, got times[{first}]={float(times[first])!r} "
                         f"> times[{first + 1}]={float(times[first + 1])!r}")
    return times


def _integrate(rhs, y0, times, rtol, atol):
    """``solve_ivp`` (DOP853) from ``t = 0``; rows of the result at ``times`` (checked by
    :func:`_check_times`; repeated times get repeated rows)."""
    rtol = float(check_real("rtol", rtol, low=0.0, low_open=True))
    atol = float(check_real("atol", atol, low=0.0, low_open=True))
    if times[-1] == 0.0:
        return np.tile(y0, (len(times), 1))
    # solve_ivp needs strictly increasing t_eval: integrate on the distinct times, then expand
    uniq, inverse = np.unique(times, return_inverse=True)
    sol = solve_ivp(rhs, (0.0, float(uniq[-1])), y0, method="DOP853", t_eval=uniq, rtol=rtol,
                    atol=atol)
    if not sol.success or not np.all(np.isfinite(sol.y)):
        raise ValueError(f"the ODE integrator failed ({sol.message}); check rtol/atol and the "
                         f"scale of the inputs")
    return sol.y.T[inverse.ravel()]


# ------------------------------------------------------------------------------------------------
# matrices
# ------------------------------------------------------------------------------------------------
def _check_matrix(name, value):
    arr = check_real(name, value)
    if arr.ndim != 2 or 0 in arr.shape:
        raise ValueError(f"{name} must be a non-empty 2-d array, got shape {arr.shape}")
    return arr


def _padded_svd(W):
    """Full SVD ``W = U diag(s) V^T`` with ``s`` padded by exact zeros to lengths ``m`` and ``n``.

    Singular values below ``max(m, n) eps s_max`` (numpy's ``matrix_rank`` cut-off) are set to 0:
    the fractional powers ``sigma^{2q}`` with ``0 < 2q < 1`` are not Lipschitz at 0, and rounding
    noise in a zero singular value must not enter the velocity.
    """
    m, n = W.shape
    U, sv, Vt = np.linalg.svd(W)
    if sv.size and sv[0] > 0:
        sv = np.where(sv > max(m, n) * np.finfo(float).eps * sv[0], sv, 0.0)
    s_left = np.zeros(m)
    s_left[: sv.size] = sv
    s_right = np.zeros(n)
    s_right[: sv.size] = sv
    return U, s_left, s_right, Vt


def end_to_end_velocity(W, G, depth):
    """``-sum_{j=1}^N (W W^T)^{(j-1)/N} G (W^T W)^{(N-j)/N}`` (Arora, Cohen & Hazan 2018, Thm 1).

    The fractional powers of the PSD matrices ``W W^T = U diag(s_left^2) U^T`` and ``W^T W = V
    diag(s_right^2) V^T`` use their eigendecompositions, read off one full SVD of ``W`` (more
    accurate than ``eigh(W W^T)``, whose zero eigenvalues carry ``eps ||W||^2`` noise); zero
    eigenvalues are exact zeros (with ``0^0 = 1``), so rank-deficient and non-square ``W`` are
    handled. In the eigenbases the sum is the entrywise product of ``U^T G V`` with
    ``C_kl = sum_j s_left_k^{2(j-1)/N} s_right_l^{2(N-j)/N}``.

    Args:
        W: the end-to-end matrix (``m x n``).
        G: ``grad l(W)`` (``m x n``).
        depth: ``N >= 1`` (``N = 1`` gives ``-G``).

    >>> W = np.array([[1.0, 0.0], [0.0, 4.0]]); G = np.ones((2, 2))
    >>> end_to_end_velocity(W, G, 2)        # -(|W| G + G |W|) for diagonal W >= 0
    array([[-2., -5.],
           [-5., -8.]])
    """
    W = _check_matrix("W", W)
    G = _check_matrix("G", G)
    if G.shape != W.shape:
        raise ValueError(f"G must have the shape of W {W.shape}, got {G.shape}")
    depth = check_int("depth", depth, low=1)
    if depth == 1:
        return -G.copy()
    U, s_left, s_right, Vt = _padded_svd(W)
    C = np.zeros(W.shape)
    for j in range(1, depth + 1):
        C += np.outer(s_left ** (2.0 * (j - 1) / depth), s_right ** (2.0 * (depth - j) / depth))
    return -U @ (C * (U.T @ G @ Vt.T)) @ Vt


def singular_value_velocity(W, G, depth):
    """Singular values of ``W`` and their rates ``-N sigma_r^{2-2/N} <G, u_r v_r^T>``.

    Arora, Cohen, Hu & Luo 2019 (arXiv 1905.13655), Thm 3, for ``W`` on the balanced end-to-end
    flow with distinct singular values.

    Returns:
        ``(sigma, dsigma)``, 1-d arrays of length ``min(m, n)``, ``sigma`` decreasing.

    >>> sv, rate = singular_value_velocity(np.diag([2.0, 1.0]), np.diag([1.0, -1.0]), 2)
    >>> rate
    array([-4.,  2.])
    """
    W = _check_matrix("W", W)
    G = _check_matrix("G", G)
    if G.shape != W.shape:
        raise ValueError(f"G must have the shape of W {W.shape}, got {G.shape}")
    depth = check_int("depth", depth, low=1)
    U, sv, Vt = np.linalg.svd(W, full_matrices=False)
    proj = np.einsum("ir,ij,rj->r", U, G, Vt)
    return sv, -depth * sv ** (2.0 - 2.0 / depth) * proj


def whitened_loss(W, target):
    """``(l, grad l) = (1/2 ||W - Phi||_F^2, W - Phi)``: whitened linear regression with target
    ``Phi = Y X^T`` (``X X^T = I``), up to the additive constant ``1/2 ||Y||^2 - 1/2 ||Phi||^2``.

    >>> whitened_loss(np.eye(2), np.zeros((2, 2)))[0]
    1.0
    """
    W = _check_matrix("W", W)
    target = _check_matrix("target", target)
    if target.shape != W.shape:
        raise ValueError(f"target must have the shape of W {W.shape}, got {target.shape}")
    D = W - target
    return 0.5 * float(np.sum(D * D)), D


def end_to_end_flow(W0, depth, times, *, target=None, grad=None, rtol=1e-11, atol=1e-13):
    """Integrate the end-to-end dynamics from ``W(0) = W0`` (``solve_ivp``, DOP853).

    Args:
        W0: initial end-to-end matrix ``m x n``.
        depth: ``N >= 1``.
        times: increasing times ``>= 0`` at which to return ``W(t)``.
        target: ``Phi`` for the whitened loss ``1/2 ||W - Phi||_F^2`` (exactly one of ``target`` and
            ``grad``).
        grad: a callable ``W -> grad l(W)`` for another loss.
        rtol, atol: integrator tolerances.

    Returns:
        Array ``(len(times), m, n)``.

    >>> Phi = np.diag([2.0, 1.0])
    >>> Wt = end_to_end_flow(0.01 * np.eye(2), 2, [0.0, 1.0], target=Phi)
    >>> bool(abs(Wt[1, 0, 0] - saxe_learning_curve(1.0, 2.0, 0.01)) < 1e-9)
    True
    """
    W0 = _check_matrix("W0", W0)
    depth = check_int("depth", depth, low=1)
    times = _check_times(times)
    if (target is None) == (grad is None):
        raise ValueError("give exactly one of target (whitened loss) and grad (a callable)")
    if target is not None:
        target = _check_matrix("target", target)
        if target.shape != W0.shape:
            raise ValueError(f"target must have the shape of W0 {W0.shape}, got {target.shape}")
        grad = (lambda W, _P=target: W - _P)
    elif not callable(grad):
        raise ValueError("grad must be a callable W -> grad l(W)")
    shape = W0.shape

    def rhs(_t, y):
        W = y.reshape(shape)
        G = np.asarray(grad(W), dtype=float)
        if G.shape != shape:
            raise ValueError(f"grad must return an array of shape {shape}, got {G.shape}")
        return end_to_end_velocity(W, G, depth).ravel()

    return _integrate(rhs, W0.ravel().copy(), times, rtol, atol).reshape(len(times), *shape)


# ------------------------------------------------------------------------------------------------
# layers
# ------------------------------------------------------------------------------------------------
def _rng(seed):
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is not None:
        seed = check_int("seed", seed, low=0)
    return np.random.default_rng(seed)


def _orthonormal_columns(rng, rows, cols):
    q, r = np.linalg.qr(rng.standard_normal((rows, cols)))
    return q * np.sign(np.diag(r))


def balanced_factorization(W, depth, *, hidden=None, seed=None):
    """Layers ``W_1, ..., W_N`` with product ``W`` and exact balancedness.

    With the thin SVD ``W = U S V^T`` (``r = min(m, n)`` singular values, zeros kept; singular
    values below numpy's rank cut-off ``max(m, n) eps s_max`` are set to exactly 0),
    ``W_j = O_j S^{1/N} O_{j-1}^T`` where ``O_0 = V``, ``O_N = U`` and ``O_1..O_{N-1}`` are random
    ``hidden x r`` matrices with orthonormal columns (Haar). Then ``W_{j+1}^T W_{j+1} = O_j S^{2/N}
    O_j^T = W_j W_j^T`` (the balanced initialization of Arora, Cohen, Golowich & Hu 2019, arXiv
    1810.02281, built here from an SVD).

    Args:
        W: the end-to-end matrix ``m x n``.
        depth: ``N >= 1``.
        hidden: width of the hidden layers (``>= min(m, n)``; default ``max(m, n)``).
        seed: int, ``numpy.random.Generator`` or ``None`` for the hidden rotations.

    Returns:
        A tuple of ``N`` arrays; ``layers[0]`` is ``W_1`` (``hidden x n``), ``layers[-1]`` is
        ``W_N`` (``m x hidden``).
    """
    W = _check_matrix("W", W)
    depth = check_int("depth", depth, low=1)
    m, n = W.shape
    r = min(m, n)
    hidden = max(m, n) if hidden is None else check_int("hidden", hidden, low=r)
    rng = _rng(seed)
    if depth == 1:
        return (W.copy(),)
    U, sv, Vt = np.linalg.svd(W, full_matrices=False)
    # rounding noise in a zero singular value (~eps ||W||) would become (eps ||W||)^{1/N} in every
    # layer: use numpy's rank cut-off, so that a rank-deficient W has exactly rank-deficient layers
    sv = np.where(sv > max(m, n) * np.finfo(float).eps * sv[0], sv, 0.0) if sv[0] > 0 else sv
    root = np.diag(sv ** (1.0 / depth))
    O = [Vt.T] + [_orthonormal_columns(rng, hidden, r) for _ in range(depth - 1)] + [U]
    return tuple(O[j + 1] @ root @ O[j].T for j in range(depth))


def _check_layers(layers):
    try:
        layers = [np.asarray(check_real(f"layers[{i}]", w)) for i, w in enumerate(layers)]
    except TypeError:
        raise ValueError("layers must be a sequence of 2-d arrays") from None
    if not layers:
        raise ValueError("layers must hold at least one matrix")
    for i, w in enumerate(layers):
        if w.ndim != 2:
            raise ValueError(f"layers[{i}] must be a 2-d array, got shape {w.shape}")
        if i and w.shape[1] != layers[i - 1].shape[0]:
            raise ValueError(f"layers[{i}] has {w.shape[1]} columns but layers[{i - 1}] has "
                             f"{layers[i - 1].shape[0]} rows (W_{i + 1} W_{i} must be defined)")
    return layers


def product(layers):
    """The end-to-end matrix ``W_N ... W_1`` of ``layers = (W_1, ..., W_N)``."""
    layers = _check_layers(layers)
    out = layers[0]
    for w in layers[1:]:
        out = w @ out
    return out


def imbalance(layers) -> float:
    """``max_j ||W_{j+1}^T W_{j+1} - W_j W_j^T||_F`` (0 for a single layer)."""
    layers = _check_layers(layers)
    gaps = [np.linalg.norm(layers[j + 1].T @ layers[j + 1] - layers[j] @ layers[j].T)
            for j in range(len(layers) - 1)]
    return float(max(gaps, default=0.0))


@dataclass(frozen=True)
class ConvergenceReport:
    """The initialization conditions of Arora, Cohen, Golowich & Hu 2019 (arXiv 1810.02281).

    Setting: whitened linear regression, ``l(W) = 1/2 ||W - Phi||_F^2``, gradient descent on the
    layers with step ``eta``.

    * Def. 1 (approximate balancedness): layers are ``delta``-balanced if
      ``||W_{j+1}^T W_{j+1} - W_j W_j^T||_F <= delta`` for all ``j``; ``imbalance`` is the smallest
      such ``delta``.
    * Def. 2 (deficiency margin): ``W`` has deficiency margin ``c > 0`` w.r.t. ``Phi`` if
      ``||W - Phi||_F <= sigma_min(Phi) - c``; ``deficiency_margin`` is the largest such ``c``,
      ``sigma_min(Phi) - ||W - Phi||_F`` (no margin if ``<= 0``). By Weyl's inequality a margin
      ``c`` implies ``sigma_min(W) >= c`` (and the same for every ``W`` of smaller loss).
    * Thm 1: if hidden widths are ``>= min(m, n)``, ``c > 0``,
      ``delta <= c^2 / (256 N^3 ||Phi||_F^{2(N-1)/N})`` (``delta_bound``) and
      ``eta <= c^{(4N-2)/N} / (6144 N^3 ||Phi||_F^{(6N-4)/N})`` (``step_bound``), then the loss
      after ``T >= log(l(0)/eps) / (eta c^{2(N-1)/N})`` iterations is ``<= eps``
      (:meth:`iterations`).

    Attributes:
        depth, widths_ok, imbalance, delta_bound, balanced, distance (``||W - Phi||_F``),
        sigma_min_target, sigma_min_end_to_end, deficiency_margin, has_margin, step_bound,
        loss (``l(W(0))``), satisfied (widths, margin and balancedness all hold).
    """

    depth: int
    widths_ok: bool
    imbalance: float
    delta_bound: float
    balanced: bool
    distance: float
    sigma_min_target: float
    sigma_min_end_to_end: float
    deficiency_margin: float
    has_margin: bool
    step_bound: float
    loss: float
    satisfied: bool

    def iterations(self, eps, step=None) -> int:
        """Iterations after which Thm 1 guarantees loss ``<= eps`` at step ``step`` (default
        ``step_bound``); raises ``ValueError`` if the conditions do not hold."""
        eps = float(check_real("eps", eps, low=0.0, low_open=True))
        step = self.step_bound if step is None else float(check_real("step", step, low=0.0,
                                                                      low_open=True))
        if not self.satisfied:
            raise ValueError("the initialization does not meet the conditions of Thm 1 "
                             "(deficiency margin, balancedness, widths); no guarantee")
        if step > self.step_bound:
            raise ValueError(f"step must be <= step_bound = {self.step_bound!r}, got {step!r}")
        if self.loss <= eps:
            return 0
        c = self.deficiency_margin
        return int(math.ceil(math.log(self.loss / eps) / (step * c ** (2.0 * (self.depth - 1) / self.depth))))


def convergence_conditions(layers, target) -> ConvergenceReport:
    """Check the conditions of Arora, Cohen, Golowich & Hu 2019, Thm 1 for an initialization.

    Args:
        layers: ``(W_1, ..., W_N)``.
        target: ``Phi`` (whitened regression, ``l(W) = 1/2 ||W - Phi||_F^2``).

    >>> rep = convergence_conditions(balanced_factorization(0.9 * np.eye(2), 2, seed=0), np.eye(2))
    >>> rep.has_margin, round(rep.deficiency_margin, 12), rep.balanced
    (True, 0.858578643763, True)
    """
    layers = _check_layers(layers)
    target = _check_matrix("target", target)
    W = product(layers)
    if target.shape != W.shape:
        raise ValueError(f"target must have the shape of the end-to-end matrix {W.shape}, "
                         f"got {target.shape}")
    depth = len(layers)
    m, n = W.shape
    widths_ok = all(w.shape[0] >= min(m, n) for w in layers[:-1])
    delta = imbalance(layers)
    fro = float(np.linalg.norm(target))
    dist = float(np.linalg.norm(W - target))
    smin_t = float(np.linalg.svd(target, compute_uv=False)[-1])
    smin_w = float(np.linalg.svd(W, compute_uv=False)[-1])
    c = smin_t - dist
    has_margin = c > 0
    if has_margin:
        delta_bound = c ** 2 / (256.0 * depth ** 3 * fro ** (2.0 * (depth - 1) / depth))
        step_bound = c ** ((4.0 * depth - 2) / depth) / (6144.0 * depth ** 3
                                                         * fro ** ((6.0 * depth - 4) / depth))
    else:
        delta_bound = step_bound = 0.0
    balanced = bool(has_margin and delta <= delta_bound)
    return ConvergenceReport(depth=depth, widths_ok=bool(widths_ok), imbalance=delta,
                             delta_bound=float(delta_bound), balanced=balanced, distance=dist,
                             sigma_min_target=smin_t, sigma_min_end_to_end=smin_w,
                             deficiency_margin=float(c), has_margin=bool(has_margin),
                             step_bound=float(step_bound), loss=0.5 * dist ** 2,
                             satisfied=bool(widths_ok and has_margin and balanced))


def effective_rank(W) -> float:
    """Effective rank of Roy & Vetterli (2007): ``exp(H(p))``, ``p_k = sigma_k / sum_i sigma_i``,
    ``H(p) = -sum_k p_k log p_k`` (``0 log 0 = 0``); between 1 and ``rank(W)``.

    >>> round(effective_rank(np.eye(3)), 12), effective_rank(np.diag([1.0, 0.0]))
    (3.0, 1.0)
    """
    W = _check_matrix("W", W)
    sv = np.linalg.svd(W, compute_uv=False)
    total = sv.sum()
    if total == 0:
        raise ValueError("W must be non-zero (the effective rank of 0 is undefined)")
    p = sv[sv > 0] / total
    return float(np.exp(-np.sum(p * np.log(p))))


def latex_equations() -> dict:
    """``{name: latex}`` of the symbolic results: what docs/deep_linear.md shows (tests check the
    page contains each, verbatim)."""
    return {
        "end_to_end": end_to_end_ode().latex(),
        "end_to_end_N3": end_to_end_ode(3).latex(),
        "singular_values": singular_value_ode().latex(),
        "mode": mode_ode().latex(),
        "saxe": sp.latex(sp.Eq(sp.Function("u")(t), saxe_closed_form())),
    }
