"""Finite-width networks against their linearization: lazy training, measured.

Sources
-------
* L. Chizat, E. Oyallon and F. Bach, *On lazy training in differentiable programming*, arXiv
  `1812.07956 <https://arxiv.org/abs/1812.07956>`_ (NeurIPS 2019) -- the scale ``alpha``: the model
  ``alpha h(w)`` trained on the loss ``(1/alpha^2) R(alpha h(w))`` stays within ``O(1/alpha)`` of its
  linearization when ``h(w_0) = 0`` (their lazy-training theorems, Sec. 2; the "doubling" trick that
  makes ``h(w_0) = 0`` for two-layer networks).
* A. Jacot, F. Gabriel and C. Hongler, *Neural tangent kernel*, arXiv
  `1806.07572 <https://arxiv.org/abs/1806.07572>`_ -- the NTK parameterization and the kernel
  gradient flow ``d f_t / dt = -(1/n) K (f_t - y)``.
* J. Lee, L. Xiao, S. Schoenholz, Y. Bahri, R. Novak, J. Sohl-Dickstein and J. Pennington, *Wide
  neural networks of any depth evolve as linear models under gradient descent*, arXiv
  `1902.06720 <https://arxiv.org/abs/1902.06720>`_ -- the linearized network, the closed forms of its
  gradient-flow / gradient-descent dynamics (their Sec. 2.2, eqs. for ``f^lin_t``, ``mu_t``,
  ``gamma_t``), and their Theorem 2.1: under the NTK parameterization, for a learning rate below
  the critical one, ``sup_t ||f_t(x) - f^lin_t(x)||``, ``sup_t ||theta_t - theta_0|| / sqrt(N)`` and
  ``sup_t ||K_t - K_0||_F`` are all ``O(N^{-1/2})`` (upper bounds; the middle one says the
  displacement ``||theta_t - theta_0||`` stays ``O(1)``, so relative to ``||theta_0|| ~ sqrt(P)`` it is
  ``P^{-1/2}``: ``N^{-1/2}`` for two layers, ``N^{-1}`` for deeper nets whose ``P ~ N^2``).
* O. Shem-Ur and Y. Oz, *Weak correlations as the underlying principle for linearization of
  gradient-based learning systems*, arXiv `2401.04013 <https://arxiv.org/abs/2401.04013>`_ -- the
  deviation from linear dynamics bounded through the (weak) correlations of the first and higher
  parameter-derivatives of the model at initialization, which for wide networks decay as
  ``N^{-1/2}``; the bound's rate is therefore ``N^{-1/2}``, the same as Lee et al.'s theorem.
* E. Dyer and G. Gur-Ari, *Asymptotics of wide networks from Feynman diagrams*, arXiv
  `1909.11304 <https://arxiv.org/abs/1909.11304>`_ -- correlation-function counting that improves
  the ``N^{-1/2}`` bounds: the NTK's time derivative is ``O(1/N)``, so the typical kernel change and
  the deviation of the trained network from its linearization are ``O(1/N)``. This is the rate we
  measure for smooth two-layer networks (see :func:`run` and ``docs/lazy.md``, which also reports
  the slower ReLU and three-layer rates).

(Theorem and equation numbers are as recalled; every formula used here is checked numerically in
``tests/test_lazy.py``.)

The network (NTK parameterization)
----------------------------------
Inputs ``x in R^d`` (the experiments draw them uniformly on the sphere of radius ``sqrt(d)``), width
``N``, activation ``sigma``, depth ``L`` (number of weight layers; 2 or 3 here, any ``L >= 2`` works):

    ``h_0 = x``,  ``z_l = W_l h_{l-1} / sqrt(fan_l)``,  ``h_l = sigma(z_l)``  (``l = 1..L-1``),
    ``f(x) = (alpha / sqrt(N)) sum_i a_i h_{L-1,i}``,

with ``W_1 in R^{N x d}`` (``fan_1 = d``), ``W_l in R^{N x N}`` (``fan_l = N``), ``a in R^N`` and every
parameter ``N(0, 1)`` at initialization. For ``L = 2`` this is
``f(x) = (alpha / sqrt(N)) sum_i a_i sigma(<w_i, x> / sqrt(d))``. The parameter vector ``theta`` is
``(W_1, ..., W_{L-1}, a)`` flattened row-major, in that order. ``centered=True`` initializes
antisymmetrically (Chizat et al.'s doubling): the last hidden layer is two identical halves and the
output weights are ``(a', -a')``, so ``f_0 = 0`` (to rounding) while the NTK keeps its law.

Loss, gradient descent and the empirical NTK
--------------------------------------------
``L(theta) = (1/(2 n c)) ||f(X; theta) - y||^2`` with ``c = alpha^2`` (``scale_loss=True``: Chizat et
al.'s ``1/alpha^2``; then the function-space dynamics does not depend on ``alpha`` at first order)
or ``c = 1``. Gradient descent ``theta_{t+1} = theta_t - eta grad L = theta_t - (eta/(n c)) J^T
(f - y)``; gradient flow is its ``eta -> 0`` limit at ``t = eta * steps`` (first-order accurate in
``eta``). The empirical NTK is ``K0 = J0 J0^T`` (``J0 = df(X)/dtheta`` at ``theta_0``) and the kernel
of the dynamics is ``K = K0 / c``.

The linearized model ``f^lin(x; theta) = f_0(x) + J0(x) (theta - theta_0)`` trained by the same GD
has residual ``r_t = f^lin_t(X) - y = (I - eta K/n)^t r_0`` (flow: ``exp(-K t/n) r_0``), and

    ``f^lin_t(X) = y + (I - eta K/n)^t (f_0(X) - y)``,
    ``f^lin_t(x) = f_0(x) - K(x, X) K^{-1} (I - (I - eta K/n)^t) (f_0(X) - y)``,
    ``theta_t - theta_0 = -(1/c) J0^T K^{-1} (I - (I - eta K/n)^t) (f_0(X) - y)``.

With ``K = U diag(lam) U^T`` we never form ``K^{-1}``: ``K^{-1}(I - (I - eta K/n)^t) = U diag(phi_t)
U^T`` with ``phi_t(lam) = (eta/n) sum_{s<t} (1 - eta lam/n)^s = -expm1(t log1p(-eta lam/n)) / lam``
(``= eta t / n`` at ``lam = 0``; flow: ``-expm1(-lam t/n) / lam``, ``= t/n`` at 0). This is exact and
stable for every ``lam >= 0``, so a rank-deficient ``K0`` (``n > P``, duplicated inputs) is handled
correctly: the null-space part of the residual stays put and contributes nothing off the training
set (``K(x, X) u = J0(x) J0^T u = 0`` for ``K u = 0``).

Example:
    >>> import numpy as np
    >>> net = Network(d=5, width=64)
    >>> rng = np.random.default_rng(0)
    >>> X = sphere(rng, 8, 5); y = np.tanh(X[:, 0])
    >>> theta0 = net.init(rng)
    >>> gd = train_gd(net, theta0, X, y, eta=1.0, steps=200, times=[0, 200])
    >>> lin = linearized_closed_form(net, theta0, X, y, eta=1.0, times=[0, 200])
    >>> lin_gd = train_linearized_gd(net, theta0, X, y, eta=1.0, steps=200, times=[0, 200])
    >>> bool(np.max(np.abs(lin.train - lin_gd.train)) < 1e-10)
    True
    >>> bool(np.max(np.abs(gd.train[-1] - lin.train[-1])) < 0.05)
    True
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np
from scipy import stats
from scipy.special import erf as _erf

from asymptotics._validation import check_int, check_real

__all__ = ["ACTIVATIONS", "Network", "Trajectory", "sphere", "make_task", "train_gd",
           "train_linearized_gd", "linearized_closed_form", "loss_factor", "fit_exponent",
           "ExponentFit", "weight_exponent", "measure", "CENTERINGS", "QUANTITIES", "run", "EXPERIMENT"]

_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)      # erf'(z) = (2/sqrt(pi)) exp(-z^2)


def _tanh(z):
    return np.tanh(z)


def _tanh_prime(z, h):
    return 1.0 - h * h


def _erf_prime(z, h):
    return _TWO_OVER_SQRT_PI * np.exp(-z * z)


def _relu(z):
    return np.maximum(z, 0.0)


def _relu_prime(z, h):
    return (z > 0).astype(float)


#: name -> (sigma, sigma') with sigma'(z, sigma(z)); relu' is the right derivative at 0 (1{z > 0}).
ACTIVATIONS = {"tanh": (_tanh, _tanh_prime), "erf": (_erf, _erf_prime), "relu": (_relu, _relu_prime)}

#: Largest parameter count (and largest n x P Jacobian) handled; beyond it a ValueError.
MAX_ENTRIES = 5 * 10 ** 7


def _scalar(name, value, **kw) -> float:
    arr = check_real(name, value, **kw)
    if arr.ndim != 0:
        raise ValueError(f"{name} must be a scalar, got shape {arr.shape}")
    return float(arr)


def sphere(rng: np.random.Generator, m: int, d: int) -> np.ndarray:
    """``m`` points uniform on the sphere of radius ``sqrt(d)`` in ``R^d`` (rows).

    >>> x = sphere(np.random.default_rng(1), 3, 4)
    >>> np.allclose((x ** 2).sum(axis=1), 4.0)
    True
    """
    m = check_int("m", m, low=1)
    d = check_int("d", d, low=1)
    g = rng.standard_normal((m, d))
    return math.sqrt(d) * g / np.linalg.norm(g, axis=1, keepdims=True)


# ------------------------------------------------------------------------------------------------
# the network
# ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Network:
    """A fully connected network in the NTK parameterization (module docstring), with exact
    hand-written Jacobian, Jacobian-vector products and empirical NTK.

    Attributes:
        d: input dimension (``>= 1``).
        width: hidden width ``N`` of every hidden layer (``>= 1``).
        depth: number of weight layers ``L`` (``2`` = one hidden layer; ``2 <= L <= 6``).
        alpha: output scale (``> 0``), Chizat et al.'s ``alpha``.
        activation: ``"tanh"``, ``"erf"`` or ``"relu"``.

    >>> net = Network(d=3, width=4, depth=3)
    >>> net.n_params, net.shapes
    (32, ((4, 3), (4, 4), (4,)))
    """

    d: int
    width: int
    depth: int = 2
    alpha: float = 1.0
    activation: str = "tanh"

    def __post_init__(self):
        object.__setattr__(self, "d", check_int("d", self.d, low=1))
        object.__setattr__(self, "width", check_int("width", self.width, low=1))
        object.__setattr__(self, "depth", check_int("depth", self.depth, low=2, high=6))
        object.__setattr__(self, "alpha", _scalar("alpha", self.alpha, low=0.0, low_open=True))
        if not isinstance(self.activation, str) or self.activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {sorted(ACTIVATIONS)}, got {self.activation!r}")
        if self.n_params > MAX_ENTRIES:
            raise ValueError(f"the network has {self.n_params} parameters; must be <= {MAX_ENTRIES:.0e} "
                             f"(lower width or depth)")

    # -- layout -----------------------------------------------------------------------------------
    @property
    def shapes(self) -> tuple:
        """Shapes of ``(W_1, ..., W_{L-1}, a)``."""
        N = self.width
        hidden = [(N, self.d)] + [(N, N)] * (self.depth - 2)
        return tuple(hidden) + ((N,),)

    @property
    def fans(self) -> tuple:
        """Fan-in of each hidden layer (``d``, then ``N``)."""
        return (self.d,) + (self.width,) * (self.depth - 2)

    @property
    def n_params(self) -> int:
        return int(sum(math.prod(s) for s in self.shapes))

    def unflatten(self, theta) -> list:
        """Views ``[W_1, ..., W_{L-1}, a]`` of a flat parameter vector (validated: shape, finite)."""
        return self._split(self._theta(theta))

    def _split(self, theta) -> list:
        """:meth:`unflatten` without validation (``theta`` already checked by :meth:`_theta`); the
        internal passes (``_forward``, ``_backward``, ``_jvp``) use it so that a training loop checks
        its parameters once, not at every step."""
        out, k = [], 0
        for s in self.shapes:
            size = math.prod(s)
            out.append(theta[k:k + size].reshape(s))
            k += size
        return out

    def _theta(self, theta, name: str = "theta") -> np.ndarray:
        """``theta`` (or a parameter-space vector called ``name``) as an array of shape ``(P,)`` with
        finite entries: one check per public call (the internal passes do not repeat it)."""
        theta = np.asarray(theta)
        if np.iscomplexobj(theta):              # complex parameters: complex-step differentiation
            if not np.isfinite(theta).all():
                raise ValueError(f"{name} must be finite (no NaN or inf entries)")
        else:
            theta = check_real(name, theta)     # NaN / inf -> ValueError naming the argument
        if theta.shape != (self.n_params,):
            raise ValueError(f"{name} must have shape ({self.n_params},), got {theta.shape}")
        return theta

    def _inputs(self, X, name="X") -> np.ndarray:
        X = check_real(name, X)
        if X.ndim != 2 or X.shape[1] != self.d:
            raise ValueError(f"{name} must have shape (n, {self.d}), got {X.shape}")
        return X

    def init(self, rng: np.random.Generator, *, centered: bool = False) -> np.ndarray:
        """Parameters i.i.d. ``N(0, 1)``; ``centered=True``: antisymmetric output (``f_0 = 0``).

        With ``centered`` the width must be even; the last hidden layer's weights are two copies of
        ``N/2`` rows and ``a = (a', -a')`` (the rest of the network is drawn as usual).

        >>> net = Network(d=3, width=6)
        >>> th = net.init(np.random.default_rng(0), centered=True)
        >>> float(np.max(np.abs(net.forward(th, np.eye(3))))) < 1e-15
        True
        """
        theta = rng.standard_normal(self.n_params)
        if centered:
            if self.width % 2:
                raise ValueError(f"width must be even for centered (antisymmetric) init, got {self.width}")
            parts = self._split(theta)
            half = self.width // 2
            parts[-2][half:] = parts[-2][:half]
            parts[-1][half:] = -parts[-1][:half]
        return theta

    # -- forward and backward ---------------------------------------------------------------------
    def _forward(self, theta, X):
        """``(Hs, Ds, f)``: layer inputs ``[X, h_1, .., h_{L-1}]``, derivatives ``sigma'(z_l)``, output."""
        sigma, dsigma = ACTIVATIONS[self.activation]
        *Ws, a = self._split(theta)
        Hs, Ds = [X], []
        h = X
        for W, fan in zip(Ws, self.fans):
            z = (h @ W.T) / math.sqrt(fan)
            h = sigma(z)
            Ds.append(dsigma(z, h))
            Hs.append(h)
        f = (self.alpha / math.sqrt(self.width)) * (h @ a)
        return Hs, Ds, f

    def _backward(self, theta, Ds):
        """``G_l = df/dz_l`` (one row per input), ``l = 1..L-1``."""
        *Ws, a = self._split(theta)
        G = (self.alpha / math.sqrt(self.width)) * a[None, :] * Ds[-1]
        Gs = [G]
        for l in range(len(Ws) - 1, 0, -1):      # from layer L-1 down to 2
            G = (G @ Ws[l]) / math.sqrt(self.fans[l]) * Ds[l - 1]
            Gs.append(G)
        return Gs[::-1]

    def forward(self, theta, X) -> np.ndarray:
        """Outputs ``f(X; theta)``, shape ``(n,)``."""
        return self._forward(self._theta(theta), self._inputs(X))[2]

    def jacobian(self, theta, X) -> np.ndarray:
        """Exact Jacobian ``df(X)/dtheta``, shape ``(n, P)`` (columns in the order of ``theta``)."""
        theta, X = self._theta(theta), self._inputs(X)
        n = X.shape[0]
        if n * self.n_params > MAX_ENTRIES:
            raise ValueError(f"the Jacobian would have n x P = {n} x {self.n_params} entries; must be "
                             f"<= {MAX_ENTRIES:.0e} (use vjp/jvp/ntk instead)")
        Hs, Ds, _ = self._forward(theta, X)
        Gs = self._backward(theta, Ds)
        blocks = [np.einsum("ij,ik->ijk", G, H).reshape(n, -1) / math.sqrt(fan)
                  for G, H, fan in zip(Gs, Hs[:-1], self.fans)]
        blocks.append((self.alpha / math.sqrt(self.width)) * Hs[-1])
        return np.hstack(blocks)

    def vjp(self, theta, X, v) -> np.ndarray:
        """``J(X)^T v`` without forming ``J`` (one backward pass), shape ``(P,)``."""
        theta, X = self._theta(theta), self._inputs(X)
        v = check_real("v", v)
        if v.shape != (X.shape[0],):
            raise ValueError(f"v must have shape ({X.shape[0]},), got {v.shape}")
        Hs, Ds, _ = self._forward(theta, X)
        return self._vjp(theta, Hs, Ds, v)

    def _vjp(self, theta, Hs, Ds, v):
        Gs = self._backward(theta, Ds)
        parts = [((G * v[:, None]).T @ H).ravel() / math.sqrt(fan)
                 for G, H, fan in zip(Gs, Hs[:-1], self.fans)]
        parts.append((self.alpha / math.sqrt(self.width)) * (Hs[-1].T @ v))
        return np.concatenate(parts)

    def jvp(self, theta, X, dtheta) -> np.ndarray:
        """``J(X) dtheta`` without forming ``J`` (one forward-mode pass), shape ``(n,)``."""
        theta, X = self._theta(theta), self._inputs(X)
        dtheta = self._theta(dtheta, "dtheta")
        Hs, Ds, _ = self._forward(theta, X)
        return self._jvp(theta, Hs, Ds, dtheta)

    def _jvp(self, theta, Hs, Ds, dtheta):
        *Ws, a = self._split(theta)
        *dWs, da = self._split(dtheta)
        dh = None
        for l, (W, dW, fan) in enumerate(zip(Ws, dWs, self.fans)):
            dz = Hs[l] @ dW.T
            if dh is not None:
                dz = dz + dh @ W.T
            dh = Ds[l] * dz / math.sqrt(fan)
        return (self.alpha / math.sqrt(self.width)) * (Hs[-1] @ da + dh @ a)

    def ntk(self, theta, X, X2=None) -> np.ndarray:
        """Empirical NTK ``J(X) J(X2)^T`` (``X2 = X`` by default), shape ``(n, n2)``, without forming
        ``J``: ``sum_l (G_l G_l'^T) * (H_{l-1} H_{l-1}'^T) / fan_l + (alpha^2/N) H_{L-1} H_{L-1}'^T``."""
        theta, X = self._theta(theta), self._inputs(X)
        Hs, Ds, _ = self._forward(theta, X)
        Gs = self._backward(theta, Ds)
        if X2 is None:
            Hs2, Gs2 = Hs, Gs
        else:
            Hs2, Ds2, _ = self._forward(theta, self._inputs(X2, "X2"))
            Gs2 = self._backward(theta, Ds2)
        K = (self.alpha ** 2 / self.width) * (Hs[-1] @ Hs2[-1].T)
        for G, G2, H, H2, fan in zip(Gs, Gs2, Hs[:-1], Hs2[:-1], self.fans):
            K += (G @ G2.T) * (H @ H2.T) / fan
        if X2 is None:
            K = 0.5 * (K + K.T)
        return K


def loss_factor(net: Network, scale_loss: bool) -> float:
    """``c`` of the loss ``(1/(2 n c)) ||f - y||^2``: ``alpha^2`` (Chizat et al.) or ``1``."""
    return net.alpha ** 2 if scale_loss else 1.0


# ------------------------------------------------------------------------------------------------
# training
# ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Trajectory:
    """Outputs along training, recorded at ``times``.

    Attributes:
        times: the recorded steps (GD) or times ``t`` (flow), shape ``(T,)``.
        train: ``f_t(X)``, shape ``(T, n)``.
        test: ``f_t(X_test)``, shape ``(T, m)`` (``m = 0`` without a test set).
        weight_change: ``||theta_t - theta_0||``, shape ``(T,)``.
        kernel_change: ``||K_t - K_0||_F / ||K_0||_F`` on the training inputs (zeros for the
            linearized model, whose kernel is fixed; ``None`` if not recorded).
        theta: parameters at the last recorded time.
        theta0_norm: ``||theta_0||``.
    """

    times: np.ndarray
    train: np.ndarray
    test: np.ndarray
    weight_change: np.ndarray
    kernel_change: np.ndarray | None
    theta: np.ndarray
    theta0_norm: float


def _times(times, steps=None, *, integers=True) -> np.ndarray:
    """Recording times: a non-empty 1-d list, finite, ``>= 0``, strictly increasing; with
    ``integers`` GD steps (returned as ints), with ``steps`` at most ``steps``."""
    t = check_real("times", times, low=0.0)
    if t.ndim != 1 or t.size == 0:
        raise ValueError("times must be a non-empty 1-d list")
    if np.any(np.diff(t) <= 0):
        raise ValueError(f"times must be strictly increasing, got {t}")
    if integers:
        if not np.all(np.equal(np.mod(t, 1), 0)):
            raise ValueError(f"times must be integers (GD steps), got {t}")
        t = t.astype(int)
    if steps is not None and t.max() > steps:
        raise ValueError(f"times must be <= steps={steps}, got {t}")
    return t


def _check_problem(net, theta0, X, y, X_test):
    theta0 = net._theta(theta0, "theta0")
    X = net._inputs(X)
    y = check_real("y", y)
    if y.shape != (X.shape[0],):
        raise ValueError(f"y must have shape ({X.shape[0]},), got {y.shape}")
    Xt = np.zeros((0, net.d)) if X_test is None else net._inputs(X_test, "X_test")
    return theta0, X, y, Xt


def _check_converging(theta, step: int, eta: float, what: str = "gradient descent") -> None:
    """Raise the divergence error once an iterate has overflowed (NaN or inf entries); one
    ``isfinite`` pass per step, shared by every gradient-descent loop."""
    if not np.isfinite(theta).all():
        raise ValueError(f"{what} diverged at step {step}; lower eta (got {eta})")


def train_gd(net: Network, theta0, X, y, *, eta: float, steps: int, times, X_test=None,
             scale_loss: bool = True, record_kernel: bool = False) -> Trajectory:
    """Full-batch gradient descent on ``(1/(2 n c)) ||f(X; theta) - y||^2`` (module docstring).

    Args:
        net: the network; theta0: initial parameters; X, y: training set.
        eta: learning rate (``> 0``); steps: number of GD steps.
        times: strictly increasing steps in ``[0, steps]`` at which outputs are recorded.
        X_test: optional test inputs (outputs recorded too).
        scale_loss: divide the loss by ``alpha^2`` (Chizat et al.).
        record_kernel: record ``||K_t - K_0||_F / ||K_0||_F`` on ``X`` at ``times``.

    Gradient flow up to time ``t`` is approximated by ``eta = t / steps`` (error ``O(eta)``).
    """
    theta, X, y, Xt = _check_problem(net, theta0, X, y, X_test)
    eta = _scalar("eta", eta, low=0.0, low_open=True)
    steps = check_int("steps", steps, low=0)
    ts = _times(times, steps)
    step = eta / (X.shape[0] * loss_factor(net, scale_loss))
    theta0 = theta.copy()
    K0 = net.ntk(theta0, X) if record_kernel else None
    K0n = np.linalg.norm(K0) if record_kernel else None
    T = ts.size
    train, test = np.empty((T, X.shape[0])), np.empty((T, Xt.shape[0]))
    wc = np.empty(T)
    kc = np.empty(T) if record_kernel else None
    j = 0
    for t in range(steps + 1):
        Hs, Ds, f = net._forward(theta, X)
        if t == ts[j]:
            train[j] = f
            test[j] = net._forward(theta, Xt)[2] if Xt.shape[0] else np.empty(0)
            wc[j] = np.linalg.norm(theta - theta0)
            if record_kernel:
                kc[j] = np.linalg.norm(net.ntk(theta, X) - K0) / K0n
            j += 1
            if j == T:
                break
        with np.errstate(over="ignore", invalid="ignore"):
            theta = theta - step * net._vjp(theta, Hs, Ds, f - y)
        _check_converging(theta, t + 1, eta)
    return Trajectory(ts, train, test, wc, kc, theta, float(np.linalg.norm(theta0)))


def train_linearized_gd(net: Network, theta0, X, y, *, eta: float, steps: int, times, X_test=None,
                        scale_loss: bool = True) -> Trajectory:
    """The linearized model ``f_0 + J0 (theta - theta_0)`` trained by the same GD, step by step
    (one Jacobian-vector and one vector-Jacobian product per step; the naive baseline of
    :func:`linearized_closed_form`). Arguments as in :func:`train_gd`; a ``ValueError`` if the
    iterates overflow (it diverges for ``eta lam_max(K)/n > 2``)."""
    theta0, X, y, Xt = _check_problem(net, theta0, X, y, X_test)
    eta = _scalar("eta", eta, low=0.0, low_open=True)
    steps = check_int("steps", steps, low=0)
    ts = _times(times, steps)
    step = eta / (X.shape[0] * loss_factor(net, scale_loss))
    Hs, Ds, f0 = net._forward(theta0, X)
    if Xt.shape[0]:
        Hst, Dst, f0t = net._forward(theta0, Xt)
    T = ts.size
    train, test = np.empty((T, X.shape[0])), np.empty((T, Xt.shape[0]))
    wc = np.empty(T)
    delta = np.zeros_like(theta0)
    j = 0
    with np.errstate(over="ignore", invalid="ignore"):          # divergence is reported below
        for t in range(steps + 1):
            f = f0 + net._jvp(theta0, Hs, Ds, delta)
            if t == ts[j]:
                train[j] = f
                test[j] = f0t + net._jvp(theta0, Hst, Dst, delta) if Xt.shape[0] else np.empty(0)
                wc[j] = np.linalg.norm(delta)
                j += 1
                if j == T:
                    break
            delta = delta - step * net._vjp(theta0, Hs, Ds, f - y)
            _check_converging(delta, t + 1, eta, "gradient descent on the linearized model")
    return Trajectory(ts, train, test, wc, np.zeros(T), theta0 + delta,
                      float(np.linalg.norm(theta0)))


def _phi_and_decay(lam, t, eta, n, flow):
    """``(1 - p_t(lam))/lam`` and ``p_t(lam)``, broadcast over ``t`` (rows) and ``lam`` (columns);
    ``p_t = (1 - eta lam/n)^t`` (GD) or ``exp(-lam t/n)`` (flow), stable at ``lam -> 0``."""
    lam = lam[None, :]
    t = np.asarray(t, dtype=float)[:, None]
    if flow:
        one_minus_p = -np.expm1(-lam * t / n)
        limit = t / n + 0.0 * lam
    else:
        q = eta * lam / n
        small = q < 1.0
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            stable = -np.expm1(t * np.log1p(-np.where(small, q, 0.0)))
            direct = 1.0 - np.power(1.0 - q, t)
        one_minus_p = np.where(small, stable, direct)
        limit = eta * t / n + 0.0 * lam
    zero = lam == 0.0
    with np.errstate(divide="ignore", invalid="ignore"):
        phi = np.where(zero, limit, one_minus_p / np.where(zero, 1.0, lam))
    return phi, 1.0 - one_minus_p


def linearized_closed_form(net: Network, theta0, X, y, *, times, eta: float | None = None,
                           flow: bool = False, X_test=None, scale_loss: bool = True) -> Trajectory:
    """Closed-form dynamics of the linearized network (Lee et al. 2019, Sec. 2.2) in the eigenbasis of
    the empirical NTK (module docstring), exact for any rank of ``K0``.

    Args:
        times: strictly increasing, finite and ``>= 0`` (as in :func:`train_gd`): GD steps
            (integers, ``flow=False``) or flow times ``t`` (``flow=True``).
        eta: GD learning rate (required with ``flow=False``, not accepted with ``flow=True``, where
            the time ``t`` already plays its role); must satisfy ``eta lam_max(K)/n < 2`` (otherwise
            GD diverges).
        flow: gradient flow ``exp(-K t/n)`` instead of GD ``(I - eta K/n)^t``.

    Returns:
        A :class:`Trajectory` (``kernel_change`` zeros; ``theta`` at the last time).
    """
    theta0, X, y, Xt = _check_problem(net, theta0, X, y, X_test)
    n = X.shape[0]
    t = _times(times, integers=not flow)
    if flow:
        if eta is not None:
            raise ValueError(f"eta must be None with flow=True (gradient flow has no learning rate; "
                             f"pass flow times t = eta * steps), got eta={eta!r}")
    else:
        if eta is None:
            raise ValueError("eta is required for gradient descent (flow=False)")
        eta = _scalar("eta", eta, low=0.0, low_open=True)
    c = loss_factor(net, scale_loss)
    Hs, Ds, f0 = net._forward(theta0, X)
    K = net.ntk(theta0, X) / c
    lam, U = np.linalg.eigh(K)
    lam = np.where(lam < 0.0, 0.0, lam)   # K is PSD; negative eigenvalues are rounding (|.| ~ eps ||K||)
    if not flow and eta * lam[-1] / n >= 2.0:
        raise ValueError(f"eta must be < 2 n / lambda_max(K) = {2 * n / lam[-1]:.6g} for gradient descent "
                         f"on the linearized model to converge, got {eta!r}")
    c0 = U.T @ (f0 - y)
    phi, p = _phi_and_decay(lam, t, eta, n, flow)
    train = y[None, :] + (p * c0) @ U.T
    coef = (phi * c0) @ U.T                  # rows: K^{-1}(I - P_t) r_0 in the original basis
    if Xt.shape[0]:
        Kt = net.ntk(theta0, Xt, X) / c
        test = net._forward(theta0, Xt)[2][None, :] - coef @ Kt.T
    else:
        test = np.empty((t.size, 0))
    # ||theta_t - theta_0||^2 = (1/c^2) w^T K0 w = (1/c) w^T K w,  w = coef_t
    wc = np.sqrt(np.maximum(np.einsum("ti,ij,tj->t", coef, K, coef) / c, 0.0))
    theta = theta0 - net._vjp(theta0, Hs, Ds, coef[-1]) / c
    return Trajectory(t, train, test, wc, np.zeros(t.size), theta,
                      float(np.linalg.norm(theta0)))


# ------------------------------------------------------------------------------------------------
# tasks
# ------------------------------------------------------------------------------------------------
_TARGETS = {
    "linear": lambda s: s,
    "he2": lambda s: (s * s - 1.0) / math.sqrt(2.0),
    "he3": lambda s: (s ** 3 - 3.0 * s) / math.sqrt(6.0),
    "relu": lambda s: (np.maximum(s, 0.0) - 1.0 / math.sqrt(2.0 * math.pi))
    / math.sqrt(0.5 - 1.0 / (2.0 * math.pi)),
    "tanh": lambda s: np.tanh(2.0 * s),
}


def make_task(name: str, rng: np.random.Generator, n: int, m: int, d: int):
    """A single-index regression task ``y = g(<u, x>)``, ``u`` a uniform unit vector, ``x`` uniform
    on the sphere of radius ``sqrt(d)`` (so ``<u, x>`` is approximately ``N(0, 1)``).

    ``g``: ``"linear"`` (``s``), ``"he2"`` (``(s^2 - 1)/sqrt 2``), ``"he3"`` (``(s^3 - 3s)/sqrt 6``),
    ``"relu"`` (standardized ``max(s, 0)``) or ``"tanh"`` (``tanh(2 s)``); the Hermite targets have
    unit variance under ``s ~ N(0, 1)``. No label noise.

    Returns:
        ``(X, y, X_test, y_test)``.

    >>> X, y, Xt, yt = make_task("he2", np.random.default_rng(0), 5, 3, 4)
    >>> X.shape, y.shape, Xt.shape, yt.shape
    ((5, 4), (5,), (3, 4), (3,))
    """
    if name not in _TARGETS:
        raise ValueError(f"task must be one of {sorted(_TARGETS)}, got {name!r}")
    g = _TARGETS[name]
    X, Xt = sphere(rng, n, d), sphere(rng, m, d)
    u = rng.standard_normal(d)
    u /= np.linalg.norm(u)
    return X, g(X @ u), Xt, g(Xt @ u)


# ------------------------------------------------------------------------------------------------
# exponents
# ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ExponentFit:
    """A fitted log-log slope ``p`` of ``value ~ C x^p``.

    Attributes:
        slope: least-squares slope of ``mean_s log value[s, j]`` against ``log x_j``; equal to the
            mean over seeds of the per-seed slopes (least squares is linear in the responses).
        ci_low, ci_high: 95 % Student-t interval ``slope -+ t_{0.975, S-1} se`` over the ``S`` seeds
            (exact when the per-seed slopes are i.i.d. Gaussian).
        se: standard error of ``slope``: ``sd(per-seed slopes) / sqrt(S)`` (sample sd, ``ddof=1``).
        local: slopes between consecutive ``x`` (of the mean logs) -- curvature diagnostics.
    """

    slope: float
    ci_low: float
    ci_high: float
    se: float
    local: tuple = field(default=())


def fit_exponent(x, values) -> ExponentFit:
    """Fit ``values ~ C x^p`` over seeds: ``values`` has shape ``(seeds, len(x))``, positive.

    Each row (one seed: one independent initialization, measured at every ``x``) gives its own
    least-squares slope of ``log value`` against ``log x``; the rows are i.i.d., so the slopes are
    too, and their mean is the slope of the seed-mean of the logs. The 95 % interval is the
    Student-t interval on the per-seed slopes (``S - 1`` degrees of freedom); it keeps any
    correlation of one seed's values across ``x`` (:func:`run`'s scale sweep reuses one
    initialization at every ``alpha``), which resampling seeds independently at each ``x`` would not.

    >>> x = np.array([1.0, 2.0, 4.0, 8.0])
    >>> v = np.exp(np.random.default_rng(0).normal(0, 0.01, (5, 4))) * x ** -0.5
    >>> f = fit_exponent(x, v)
    >>> round(f.slope, 1), bool(f.ci_high - f.ci_low < 0.02)
    (-0.5, True)
    """
    x = check_real("x", x, low=0.0, low_open=True)
    v = check_real("values", values, low=0.0, low_open=True)
    if x.ndim != 1 or x.size < 2 or v.ndim != 2 or v.shape[1] != x.size or v.shape[0] < 2:
        raise ValueError(f"values must have shape (seeds >= 2, len(x) >= 2), got {v.shape} for x of "
                         f"shape {x.shape}")
    lx, lv = np.log(x), np.log(v)
    xc = lx - lx.mean()
    sxx = float(xc @ xc)
    if sxx == 0.0:
        raise ValueError(f"x must hold at least 2 distinct values, got {x}")
    per_seed = (lv - lv.mean(axis=1, keepdims=True)) @ xc / sxx       # OLS slope of each seed's row
    S = per_seed.size
    slope = float(per_seed.mean())
    se = float(per_seed.std(ddof=1) / math.sqrt(S))
    half = float(stats.t.ppf(0.975, S - 1)) * se
    m = lv.mean(axis=0)
    local = tuple(float(s) for s in np.diff(m) / np.diff(lx))
    return ExponentFit(slope, slope - half, slope + half, se, local)


# ------------------------------------------------------------------------------------------------
# one measurement
# ------------------------------------------------------------------------------------------------
def _log_times(steps: int, k: int = 24) -> np.ndarray:
    return np.unique(np.concatenate([[0], np.round(np.geomspace(1, max(steps, 1), k)).astype(int)]))


CENTERINGS = ("none", "doubling", "subtract")


def measure(net: Network, X, y, X_test, *, eta: float, steps: int, seed: int, centering: str = "none",
            scale_loss: bool = True, n_times: int = 24) -> dict:
    """Train ``net`` (drawn from ``seed``) by GD and its linearization (closed form); return the
    deviations and changes, each the supremum over ``n_times`` log-spaced recorded steps:

    * ``dev_train``, ``dev_test``: ``sup_t RMS_i |f_t(x_i) - f^lin_t(x_i)|`` on the training / test set;
    * ``weight_change``: ``sup_t ||theta_t - theta_0|| / ||theta_0||``;
    * ``kernel_change``: ``sup_t ||K_t - K_0||_F / ||K_0||_F`` on the training inputs;
    * ``train_loss``: ``mean (f_T(X) - y)^2 / 2`` at the end (how far training went).

    ``centering``: ``"none"`` (i.i.d. init), ``"doubling"`` (antisymmetric init, ``f_0 = 0``) or
    ``"subtract"`` (the model ``f(x; theta) - f(x; theta_0)``, Chizat et al.'s other way to make
    ``f_0 = 0``; it is the network trained on ``y + f_0(X)``, and its deviation from the linearized
    model is the network's).

    ``n_times >= 2``: the recorded steps are ``0`` and ``n_times`` log-spaced steps from ``1`` to
    ``steps`` (fewer after rounding to distinct integers), so the last one is ``steps``; ``X_test``
    is required (at least one row).
    """
    if centering not in CENTERINGS:
        raise ValueError(f"centering must be one of {CENTERINGS}, got {centering!r}")
    steps = check_int("steps", steps, low=1)
    seed = check_int("seed", seed, low=0)
    n_times = check_int("n_times", n_times, low=2)
    if X_test is None or np.ndim(X_test) != 2 or np.shape(X_test)[0] == 0:
        raise ValueError(f"X_test must be a 2-d array with at least one row (the test deviation is "
                         f"measured on it), got shape {np.shape(X_test) if X_test is not None else None}")
    rng = np.random.default_rng(np.random.SeedSequence([seed, 7, net.width, net.depth]))
    theta0 = net.init(rng, centered=centering == "doubling")
    # "subtract": the model f - f_0 fitted to y is the network fitted to y + f_0(X) (same deviation)
    y_fit = y + net.forward(theta0, X) if centering == "subtract" else y
    ts = _log_times(steps, n_times)
    gd = train_gd(net, theta0, X, y_fit, eta=eta, steps=steps, times=ts, X_test=X_test,
                  scale_loss=scale_loss, record_kernel=True)
    lin = linearized_closed_form(net, theta0, X, y_fit, times=ts, eta=eta, X_test=X_test,
                                 scale_loss=scale_loss)
    rms = lambda a: np.sqrt(np.mean(a * a, axis=1))
    return dict(dev_train=float(rms(gd.train - lin.train).max()),
                dev_test=float(rms(gd.test - lin.test).max()),
                weight_change=float(gd.weight_change.max() / gd.theta0_norm),
                kernel_change=float(gd.kernel_change.max()),
                train_loss=float(0.5 * np.mean((gd.train[-1] - y_fit) ** 2)))


# ------------------------------------------------------------------------------------------------
# the experiment
# ------------------------------------------------------------------------------------------------
QUANTITIES = ("dev_train", "dev_test", "weight_change", "kernel_change")

#: Predicted exponents. Width (NTK parameterization, fixed alpha): Lee et al. Thm 2.1 and the
#: weak-correlations bound (Shem-Ur & Oz) -- upper bounds N^{-1/2} for the output deviation and the
#: kernel change; the weight displacement ||theta_t - theta_0|| tends to a finite limit (the
#: linearized model's), so the *relative* weight change is exactly ||theta_0||^{-1} ~ P^{-1/2}: N^{-1/2}
#: for two layers (P = N (d + 1)), N^{-1} asymptotically for deeper nets (P ~ N^2); the sweep uses
#: -1/2 times the slope of log P against log N over its widths (:func:`weight_exponent`). Scale alpha
#: (fixed N, loss / alpha^2, f_0 = 0): Chizat et al., O(1/alpha) upper bounds for the deviation and
#: the kernel change, and 1/alpha exactly for the weights.
BOUNDS = {"width": dict(dev_train=-0.5, dev_test=-0.5, weight_change=-0.5, kernel_change=-0.5),
          "alpha": dict(dev_train=-1.0, dev_test=-1.0, weight_change=-1.0, kernel_change=-1.0)}
def weight_exponent(nets) -> float:
    """Predicted exponent of ``||theta_t - theta_0|| / ||theta_0||`` across ``nets`` of increasing
    width: ``-1/2`` times the least-squares slope of ``log P`` against ``log N``.

    >>> weight_exponent([Network(d=10, width=w) for w in (64, 4096)])
    -0.5
    >>> round(weight_exponent([Network(d=10, width=w, depth=3) for w in (32, 1024)]), 3)
    -0.959
    """
    lx = np.log([net.width for net in nets])
    lp = np.log([net.n_params for net in nets])
    xc = lx - lx.mean()
    return float(-0.5 * (xc @ (lp - lp.mean())) / (xc @ xc))


#: quantities whose predicted exponent is exact (the CI must contain it, within the allowance);
#: the others are upper bounds (the CI must lie below it, within the allowance)
EXACT = ("weight_change",)
#: finite-size allowance on a fitted exponent: next-order corrections are relative
#: O(N^{-1/2}) (resp. O(1/alpha)); over the default ranges (N >= 64, alpha >= 1 with curvature seen in
#: the local slopes) they bias a log-log slope by at most about 0.1.
EXPONENT_ALLOWANCE = 0.1


def _sweep(configs, X, y, Xt, *, eta, steps, seeds, seed, centering, scale_loss):
    out = {q: np.empty((seeds, len(configs))) for q in QUANTITIES + ("train_loss",)}
    for j, net in enumerate(configs):
        for s in range(seeds):
            r = measure(net, X, y, Xt, eta=eta, steps=steps, seed=seed * 100003 + s,
                        centering=centering, scale_loss=scale_loss)
            for q in out:
                out[q][s, j] = r[q]
    return out


def _verdict(target, q, fit, allowance):
    """Exact prediction: inside the CI widened by the allowance. Upper bound: not exceeded, i.e. the
    CI does not lie entirely above ``bound + allowance`` (a tight bound must not fail by noise)."""
    if q in EXACT:
        return fit.ci_low - allowance <= target <= fit.ci_high + allowance
    return fit.ci_low <= target + allowance


def _geo(a):
    return np.exp(np.mean(np.log(a), axis=0))


def run(*, depth: int = 2, activation: str = "tanh", task: str = "tanh", d: int = 10, n: int = 32,
        m_test: int = 256, widths=(64, 128, 256, 512, 1024, 2048), alpha: float = 1.0,
        alphas=(1.0, 2.0, 4.0, 8.0, 16.0, 32.0), alpha_width: int = 256, centering: str = "none",
        alpha_centering: str = "subtract", eta: float = 1.0, steps: int = 1000, seeds: int = 4,
        seed: int = 0, plot: str = ""):
    """Width and scale sweeps of the distance between a network trained by GD and its linearization.

    Width sweep: networks of widths ``widths`` (scale ``alpha``, init ``centering``); scale sweep:
    width ``alpha_width``, scales ``alphas``, loss divided by ``alpha^2`` and ``f_0 = 0`` by
    ``alpha_centering`` (Chizat et al.). One fixed task (``task``, ``n`` training and ``m_test`` test
    points in dimension ``d``, drawn from ``seed``); ``seeds`` independent initializations per point;
    GD with learning rate ``eta`` for ``steps`` steps; the linearized model by the closed form.

    Records: for each sweep, the geometric mean over seeds of every quantity of :func:`measure` at
    each width / scale (``stat = "mean"``), then the fitted exponent (``stat = "exponent"``), its 95 %
    Student-t interval over seeds (``"ci_low"``, ``"ci_high"``), its standard error (``"se"``: sd of
    the per-seed slopes / sqrt(seeds); :func:`fit_exponent`) and the
    predicted exponent (``"theory"``: an upper bound, except the weight change's, which is exact).

    Pass: every exponent agrees with its prediction within :data:`EXPONENT_ALLOWANCE` (upper bound:
    not exceeded, ``ci_low <= theory + allowance``; exact: ``theory`` inside
    ``[ci_low - allowance, ci_high + allowance]``).
    """
    depth = check_int("depth", depth, low=2, high=6)
    d, n, m_test = check_int("d", d, low=1), check_int("n", n, low=2), check_int("m_test", m_test, low=1)
    seeds, seed = check_int("seeds", seeds, low=2), check_int("seed", seed, low=0)
    steps = check_int("steps", steps, low=1)
    eta = _scalar("eta", eta, low=0.0, low_open=True)
    alpha = _scalar("alpha", alpha, low=0.0, low_open=True)
    widths = [check_int("widths", w, low=2) for w in np.atleast_1d(widths)]
    alphas = [float(a) for a in check_real("alphas", np.atleast_1d(alphas), low=0.0, low_open=True, allow_empty=True)]
    alpha_width = check_int("alpha_width", alpha_width, low=2)
    for name, val in (("centering", centering), ("alpha_centering", alpha_centering)):
        if val not in CENTERINGS:
            raise ValueError(f"{name} must be one of {CENTERINGS}, got {val!r}")
    if alpha_centering == "none" and len(alphas):
        raise ValueError("alpha_centering must be 'doubling' or 'subtract' (the scale sweep needs f_0 = 0)")
    for name, grid in (("widths", widths), ("alphas", alphas)):
        if len(grid) and (len(grid) < 2 or len(set(grid)) != len(grid)):
            raise ValueError(f"{name} must hold at least 2 distinct values (or none), got {grid}")
    if not widths and not alphas:
        raise ValueError("at least one of widths and alphas must be non-empty")
    doubling = [w for w in widths if centering == "doubling" and w % 2] + \
        [alpha_width] * (alpha_centering == "doubling" and alpha_width % 2 == 1)
    if doubling:
        raise ValueError(f"doubling (antisymmetric) init needs even widths, got {doubling[0]}")
    start = time.perf_counter()
    X, y, Xt, _ = make_task(task, np.random.default_rng(np.random.SeedSequence([seed, 11])), n, m_test, d)
    records, fits, theory, passed = [], {}, {}, True
    sweeps = []
    if widths:
        nets = [Network(d=d, width=w, depth=depth, alpha=alpha, activation=activation) for w in widths]
        sweeps.append(("width", widths, nets, centering, True))
    if alphas:
        nets = [Network(d=d, width=alpha_width, depth=depth, alpha=a, activation=activation) for a in alphas]
        sweeps.append(("alpha", alphas, nets, alpha_centering, True))
    data = {}
    for sweep, grid, nets, cent, scale_loss in sweeps:
        res = _sweep(nets, X, y, Xt, eta=eta, steps=steps, seeds=seeds, seed=seed, centering=cent,
                     scale_loss=scale_loss)
        data[sweep] = (grid, res)
        means = {q: _geo(res[q]) for q in res}
        for j, net in enumerate(nets):
            rec = dict(sweep=sweep, N=net.width, alpha=net.alpha, stat="mean")
            rec.update({q: float(means[q][j]) for q in QUANTITIES + ("train_loss",)})
            records.append(rec)
        fits[sweep] = {q: fit_exponent(grid, res[q]) for q in QUANTITIES}
        theory[sweep] = dict(BOUNDS[sweep])
        if sweep == "width":
            theory[sweep]["weight_change"] = weight_exponent(nets)
        for stat in ("exponent", "ci_low", "ci_high", "se", "theory"):
            rec = dict(sweep=sweep, N=None, alpha=None, stat=stat)
            for q in QUANTITIES:
                f = fits[sweep][q]
                rec[q] = dict(exponent=f.slope, ci_low=f.ci_low, ci_high=f.ci_high, se=f.se,
                              theory=theory[sweep][q])[stat]
            records.append(rec)
        for q in QUANTITIES:
            passed &= _verdict(theory[sweep][q], q, fits[sweep][q], EXPONENT_ALLOWANCE)
    elapsed = time.perf_counter() - start
    summary = _summary(fits, theory, passed, widths, alphas, alpha_centering)
    metadata = dict(experiment="lazy", depth=depth, activation=activation, task=task, d=d, n=n,
                    m_test=m_test, widths=list(widths), alpha=alpha, alphas=list(alphas),
                    alpha_width=alpha_width, centering=centering, alpha_centering=alpha_centering,
                    eta=eta, steps=steps, seeds=seeds, seed=seed, allowance=EXPONENT_ALLOWANCE,
                    parameterization="NTK: f = (alpha/sqrt N) a . sigma(W h / sqrt fan)",
                    loss="(1/(2 n alpha^2)) ||f(X) - y||^2 (Chizat et al.'s scaling)",
                    local_slopes={s: {q: list(fits[s][q].local) for q in QUANTITIES} for s in fits},
                    seconds=round(elapsed, 2),
                    source="Lee et al. arXiv 1902.06720 Thm 2.1; Chizat, Oyallon & Bach arXiv 1812.07956; "
                           "Shem-Ur & Oz arXiv 2401.04013; Dyer & Gur-Ari arXiv 1909.11304")
    if plot:
        _plot(data, fits, plot, metadata)
    from .experiments import Report
    return Report(records=records, metadata=metadata, passed=bool(passed), summary=summary)


def _fmt_fit(f: ExponentFit) -> str:
    return f"{f.slope:+.3f} [{f.ci_low:+.3f}, {f.ci_high:+.3f}]"


def _summary(fits, theory, passed, widths, alphas, alpha_centering) -> str:
    parts = []
    ok = lambda sweep, q: _verdict(theory[sweep][q], q, fits[sweep][q], EXPONENT_ALLOWANCE)
    if "width" in fits:
        w = fits["width"]
        typical = all(w[q].ci_low - EXPONENT_ALLOWANCE <= -1.0 <= w[q].ci_high + EXPONENT_ALLOWANCE
                      for q in ("dev_test", "kernel_change"))
        parts.append(
            f"Width N = {widths[0]}..{widths[-1]} ({widths[-1] / widths[0]:g}x): output deviation (test) "
            f"~ N^{_fmt_fit(w['dev_test'])}, (train) N^{_fmt_fit(w['dev_train'])}; relative kernel change "
            f"N^{_fmt_fit(w['kernel_change'])}; relative weight change N^{_fmt_fit(w['weight_change'])} "
            f"(95% Student-t CI over seeds). The N^-1/2 bound (Lee et al. Thm 2.1; Shem-Ur & Oz) "
            f"{'holds' if all(ok('width', q) for q in ('dev_train', 'dev_test', 'kernel_change')) else 'FAILS'}"
            f" for the deviation and the kernel change, which decay "
            f"{'like 1/N (the typical rate, Dyer & Gur-Ari), faster than the bound' if typical else 'at a rate other than 1/N'}; "
            f"the weight change {'matches' if ok('width', 'weight_change') else 'MISSES'} its exact rate "
            f"P^-1/2 (here N^{theory['width']['weight_change']:+.3f}).")
    if "alpha" in fits:
        a = fits["alpha"]
        parts.append(
            f"Scale alpha = {alphas[0]:g}..{alphas[-1]:g} (f_0 = 0 by {alpha_centering}, loss / alpha^2): "
            f"deviation (test) ~ alpha^{_fmt_fit(a['dev_test'])}, kernel change alpha^"
            f"{_fmt_fit(a['kernel_change'])}, weight change alpha^{_fmt_fit(a['weight_change'])}; "
            f"Chizat et al.'s O(1/alpha) {'holds' if all(ok('alpha', q) for q in QUANTITIES) else 'FAILS'}.")
    parts.append(f"Allowance on exponents: {EXPONENT_ALLOWANCE}. {'PASS' if passed else 'FAIL'}.")
    return " ".join(parts)


def _plot(data, fits, path, metadata):
    try:
        from matplotlib.figure import Figure
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("plotting needs matplotlib: pip install asymptotics[plot]") from exc
    panels = [s for s in ("width", "alpha") if s in data]
    fig = Figure(figsize=(5.2 * len(panels), 4.2), layout="constrained")
    labels = dict(dev_test="output deviation (test)", dev_train="output deviation (train)",
                  kernel_change="relative NTK change", weight_change="relative weight change")
    for k, sweep in enumerate(panels):
        ax = fig.add_subplot(1, len(panels), k + 1)
        grid, res = data[sweep]
        x = np.asarray(grid, dtype=float)
        for q in QUANTITIES:
            logs = np.log(res[q])
            m, se = logs.mean(axis=0), logs.std(axis=0, ddof=1) / math.sqrt(logs.shape[0])
            f = fits[sweep][q]
            (line,) = ax.plot(x, np.exp(m), "o", ms=4,
                              label=f"{labels[q]}: slope {f.slope:+.2f} [{f.ci_low:+.2f}, {f.ci_high:+.2f}]")
            ax.errorbar(x, np.exp(m), yerr=[np.exp(m) - np.exp(m - se), np.exp(m + se) - np.exp(m)],
                        fmt="none", color=line.get_color())
            lx = np.log(x)
            ax.plot(x, np.exp(m.mean() + f.slope * (lx - lx.mean())), "-", color=line.get_color(), lw=1)
        ref = np.exp(np.log(res["dev_test"]).mean())
        for p, style in ((-0.5, ":"), (-1.0, "--")):
            if sweep == "alpha" and p == -0.5:
                continue
            ax.plot(x, ref * (x / np.exp(np.log(x).mean())) ** p, style, color="0.4", lw=1,
                    label=f"reference slope {p:g}")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("width N" if sweep == "width" else r"scale $\alpha$")
        ax.set_ylabel("sup over training (geometric mean over seeds)")
        title = (f"depth {metadata['depth']}, {metadata['activation']}, alpha = {metadata['alpha']:g}"
                 if sweep == "width" else
                 f"N = {metadata['alpha_width']}, loss/alpha^2, f0 = 0 ({metadata['alpha_centering']})")
        ax.set_title(title, fontsize=9)
        ax.legend(fontsize=7)
    fig.savefig(path, dpi=130)


def _experiment():
    from .experiments import Experiment, Option
    return Experiment(
        name="lazy",
        description="finite-width networks vs their linearization: deviation, weight and NTK change "
                    "vs width N and scale alpha, fitted exponents with CIs",
        options=(
            Option("depth", 2, "number of weight layers (2 = one hidden layer, 3 = two)"),
            Option("activation", "tanh", "tanh, erf or relu"),
            Option("task", "tanh", "target g(<u,x>): linear, he2, he3, relu, tanh"),
            Option("d", 10, "input dimension"),
            Option("n", 32, "training points"),
            Option("m_test", 256, "test points"),
            Option("widths", (64, 128, 256, 512, 1024, 2048), "widths of the width sweep", many=True),
            Option("alpha", 1.0, "scale alpha of the width sweep"),
            Option("alphas", (1.0, 2.0, 4.0, 8.0, 16.0, 32.0), "scales of the alpha sweep", many=True),
            Option("alpha_width", 256, "width of the alpha sweep"),
            Option("centering", "none", "init of the width sweep: none, doubling, subtract"),
            Option("alpha_centering", "subtract", "f_0 = 0 in the alpha sweep: doubling or subtract"),
            Option("eta", 1.0, "GD learning rate"),
            Option("steps", 1000, "GD steps"),
            Option("seeds", 4, "independent initializations per point (>= 2)"),
            Option("seed", 0, "master seed"),
            Option("plot", "", "write the log-log figure to this path ('' = none)"),
        ),
        run=run,
        source="Chizat, Oyallon & Bach arXiv 1812.07956; Jacot et al. arXiv 1806.07572; Lee et al. "
               "arXiv 1902.06720; Shem-Ur & Oz arXiv 2401.04013",
    )


EXPERIMENT = _experiment()
