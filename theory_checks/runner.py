"""Units of work, the results store, progress and execution backends (one interface for all).

Every long computation of :mod:`theory_checks` (a check's Monte Carlo draws, an experiment's trained
networks) is a list of **units**: a module-level function, its arguments and a JSON-able ``key``
that names the unit completely (model, parameters, size, seed index, base seed). A :class:`Runner`
maps units to results:

* results already in its **store** (:class:`Store`, an SQLite file) are read back, the others are
  computed by its **backend** -- in-process (:class:`Serial`, the default), local processes
  (:class:`Processes`, ``--workers N``) or Dask (:class:`DaskBackend`, ``--dask local|ADDRESS``, the
  optional extra ``pip install "asymptotics[dask]"``) -- and each is written to the store the moment
  it arrives (one transaction per record, WAL journal: a record is there whole or not at all, even
  after SIGKILL);
* every result goes through its JSON text (``repr`` of every float, exact) whether it was computed
  now or read back, so a rerun that reads everything from the store returns bit-identical values;
* each unit runs with **one BLAS thread** in every backend (threadpoolctl): BLAS reductions split
  over threads change the last bits of an eigendecomposition, so this is what makes the results
  identical whatever the worker count (``N`` workers x 1 thread never oversubscribe ``N`` cores);
* a progress bar (tqdm, on stderr) shows units done, rate and ETA when the run takes longer than
  :data:`PROGRESS_DELAY` seconds and stderr is a terminal;
* Ctrl-C raises :class:`Interrupted` (a ``KeyboardInterrupt``) carrying what was finished, after
  the workers were stopped; the command line prints a partial table and exits with 130.

The random stream of a unit is derived by the unit itself from its key (``numpy.random.SeedSequence``
of the base seed and the unit's integers), never from the order or the process in which it runs.

The store is bound to the package version and to the arguments that determine the computation
(``arguments=``): a store written by another version or for other arguments is refused with a
message, never silently reused; a file that is not a results store is refused too. Each record's key
also holds a digest of its simulator's source file, so records of edited code are recomputed, not
reused.

>>> import tempfile, os
>>> path = os.path.join(tempfile.mkdtemp(), "demo.db")
>>> units = [Unit(key=dict(demo="square", x=x), fn=pow, args=(x, 2)) for x in range(4)]
>>> with Runner(store=Store(path, arguments={"demo": 1})) as r:
...     [v for v, _ in r.map(units)], r.computed, r.reused
([0, 1, 4, 9], 4, 0)
>>> with Runner(store=Store(path, arguments={"demo": 1})) as r:
...     [v for v, _ in r.map(units)], r.computed, r.reused
([0, 1, 4, 9], 0, 4)
>>> Store(path, arguments={"demo": 2})                          # doctest: +ELLIPSIS
Traceback (most recent call last):
...
ValueError: ...was written for other arguments...
"""
from __future__ import annotations

import contextlib
import contextvars
import functools
import hashlib
import importlib.util
import json
import os
import sqlite3
import sys
import time
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np

__all__ = ["Unit", "Store", "Runner", "Serial", "Processes", "DaskBackend", "Interrupted", "current",
           "make_backend", "canonical", "PROGRESS_DELAY", "STORE_FORMAT", "STORE_SCHEMA"]

#: What the ``meta`` table of a results store says it is.
STORE_FORMAT = "asymptotics results store"
#: Version of the store's tables (bumped when they change).
STORE_SCHEMA = 1
#: A progress bar appears only for runs longer than this (seconds).
PROGRESS_DELAY = 2.0


# ------------------------------------------------------------------------------------------------
# canonical JSON: keys and results
# ------------------------------------------------------------------------------------------------
def _plain(o):
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, np.integer):
        return int(o)
    if isinstance(o, np.floating):
        return float(o)
    if isinstance(o, np.bool_):
        return bool(o)
    if isinstance(o, (set, frozenset)):
        return sorted(o)
    raise TypeError(f"cannot store a {type(o).__name__} in a results record")


def canonical(obj) -> str:
    """Canonical JSON text of ``obj`` (sorted keys, no spaces, floats by ``repr``: exact round trip;
    ``inf``/``nan`` as ``Infinity``/``NaN``; numpy scalars and arrays as numbers and lists).

    >>> canonical({"b": np.float64(0.1), "a": (1, np.arange(2))})
    '{"a":[1,[0,1]],"b":0.1}'
    """
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), default=_plain, allow_nan=True)


@functools.lru_cache(maxsize=None)
def _code_digest(module: str) -> str:
    """sha256 (first 16 hex digits) of the source file of ``module`` ("" if it has none)."""
    try:
        spec = importlib.util.find_spec(module)
        origin = spec.origin if spec is not None else None
        if not origin or not os.path.isfile(origin):
            return ""
        with open(origin, "rb") as f:
            return hashlib.sha256(f.read()).hexdigest()[:16]
    except (ImportError, ValueError, OSError):  # pragma: no cover - builtins, frozen modules
        return ""


def _version() -> str:
    from asymptotics import __version__
    return __version__


# ------------------------------------------------------------------------------------------------
# units
# ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Unit:
    """One unit of work: ``fn(*args, **kwargs)``, named by ``key`` (JSON-able, complete: it must
    determine the result together with the simulator's code). ``code`` is the module whose source is
    the simulator (default: ``fn``'s module); its digest is part of the record's key. ``fn`` must be a
    module-level function (backends ship it to other processes) and its result JSON-able."""

    key: object
    fn: Callable
    args: tuple = ()
    kwargs: dict = field(default_factory=dict)
    code: str = ""

    def spec(self) -> str:
        module = self.code or getattr(self.fn, "__module__", "") or ""
        return canonical(dict(key=self.key, code=f"{module}@{_code_digest(module)}", version=_version()))

    def ident(self) -> str:
        return hashlib.sha256(self.spec().encode()).hexdigest()


_BLAS_LIMITED = False


def _one_blas_thread():
    """Limit BLAS (and OpenMP) to one thread in this process, once (worker processes)."""
    global _BLAS_LIMITED
    if not _BLAS_LIMITED:
        from threadpoolctl import threadpool_limits
        threadpool_limits(limits=1)
        _BLAS_LIMITED = True


def _execute(fn, args, kwargs, limit=True):
    """Run one unit: ``(result JSON text, seconds)``. Module level, so every backend can ship it."""
    if limit:
        _one_blas_thread()
    t0 = time.perf_counter()
    out = fn(*args, **kwargs)
    dt = time.perf_counter() - t0
    return canonical(out), dt


def _worker_init():  # pragma: no cover - runs in worker processes
    import signal
    signal.signal(signal.SIGINT, signal.SIG_IGN)   # Ctrl-C is the parent's to handle
    for v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[v] = "1"
    _one_blas_thread()


# ------------------------------------------------------------------------------------------------
# the store
# ------------------------------------------------------------------------------------------------
class Store:
    """An SQLite results store bound to this package version and to ``arguments``.

    Args:
        path: the file (created if missing; its directory must exist).
        arguments: the JSON-able arguments that determine the computation (the command and its
            parameters; not the output format). ``None``: not bound (any arguments accepted).
        command: a readable form of the command, for messages.

    Raises:
        ValueError: the file is not a results store (a foreign or corrupt file), or it was written by
            another version of the package or for other arguments.
    """

    def __init__(self, path, arguments=None, *, command: str = ""):
        self.path = os.fspath(path)
        if os.path.isdir(self.path):
            raise ValueError(f"--store {self.path!r} is a directory; give a file name")
        parent = os.path.dirname(os.path.abspath(self.path))
        if not os.path.isdir(parent):
            raise ValueError(f"--store {self.path!r}: the directory {parent!r} does not exist")
        existed = os.path.exists(self.path) and os.path.getsize(self.path) > 0
        #: created by this object (a refused command may remove it again: :meth:`close`)
        self.fresh = not os.path.exists(self.path)
        self.arguments = None if arguments is None else canonical(arguments)
        try:
            self._db = sqlite3.connect(self.path, timeout=30.0, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            if existed:
                self._check_existing(command)
            else:
                self._create(command)
        except sqlite3.DatabaseError as e:
            with contextlib.suppress(Exception):
                self._db.close()
            raise ValueError(f"--store {self.path!r} is not an asymptotics results store ({e}); give "
                             f"another file or delete it") from None

    def _create(self, command):
        with self._db:
            self._db.execute("BEGIN")
            self._db.execute("CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL)")
            self._db.execute("CREATE TABLE IF NOT EXISTS records (id TEXT PRIMARY KEY, spec TEXT NOT NULL, "
                             "result TEXT NOT NULL, seconds REAL NOT NULL, written REAL NOT NULL)")
            meta = dict(format=STORE_FORMAT, schema=str(STORE_SCHEMA), version=_version(),
                        arguments=self.arguments if self.arguments is not None else "null",
                        command=command, created=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
            self._db.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)", list(meta.items()))

    def _check_existing(self, command):
        tables = {r[0] for r in self._db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if not {"meta", "records"} <= tables:
            raise ValueError(f"--store {self.path!r} is an SQLite file but not an asymptotics results "
                             f"store (tables: {', '.join(sorted(tables)) or 'none'}); give another file")
        meta = dict(self._db.execute("SELECT name, value FROM meta"))
        if meta.get("format") != STORE_FORMAT or meta.get("schema") != str(STORE_SCHEMA):
            raise ValueError(f"--store {self.path!r} is not an asymptotics results store of schema "
                             f"{STORE_SCHEMA} (format {meta.get('format')!r}, schema {meta.get('schema')!r})")
        if meta.get("version") != _version():
            raise ValueError(f"--store {self.path!r} was written by asymptotics {meta.get('version')}, this is "
                             f"{_version()}: its results are not reused; give another --store, or delete it")
        if self.arguments is not None and meta.get("arguments") not in (self.arguments, "null"):
            was = meta.get("command") or meta.get("arguments")
            raise ValueError(f"--store {self.path!r} was written for other arguments ({was}); its results "
                             f"are not reused: give another --store, or delete it")

    def get(self, ids: Sequence[str]) -> dict:
        """``{id: (result JSON text, seconds)}`` of the stored ones among ``ids``."""
        out = {}
        ids = list(ids)
        for k in range(0, len(ids), 500):
            chunk = ids[k:k + 500]
            q = f"SELECT id, result, seconds FROM records WHERE id IN ({','.join('?' * len(chunk))})"
            for i, res, sec in self._db.execute(q, chunk):
                out[i] = (res, sec)
        return out

    def put(self, ident: str, spec: str, result: str, seconds: float) -> None:
        """Write one record (its own transaction; a record already there is kept)."""
        with self._db:
            self._db.execute("INSERT OR IGNORE INTO records VALUES (?, ?, ?, ?, ?)",
                             (ident, spec, result, float(seconds), time.time()))

    def __len__(self) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM records").fetchone()[0])

    def close(self, drop_if_empty: bool = False) -> None:
        """Close the file; with ``drop_if_empty``, a store this object created and nothing was
        written to is deleted too (a refused command leaves no file behind)."""
        empty = False
        with contextlib.suppress(Exception):
            empty = drop_if_empty and self.fresh and len(self) == 0
        with contextlib.suppress(Exception):
            self._db.close()
        if empty:
            for suffix in ("", "-wal", "-shm"):
                with contextlib.suppress(OSError):
                    os.remove(self.path + suffix)


# ------------------------------------------------------------------------------------------------
# backends
# ------------------------------------------------------------------------------------------------
class Serial:
    """In-process, in order (one BLAS thread while a unit runs)."""

    workers = 1
    name = "in-process"

    def run(self, payloads):
        from threadpoolctl import threadpool_limits
        with threadpool_limits(limits=1):
            for k, (fn, args, kwargs) in enumerate(payloads):
                yield k, _execute(fn, args, kwargs, limit=False)

    def close(self):
        pass


class Processes:
    """``workers`` local processes (``concurrent.futures``), one BLAS thread each; Ctrl-C is handled
    by the parent, which stops the workers."""

    name = "processes"

    def __init__(self, workers: int):
        self.workers = int(workers)
        self._pool = None

    def _get(self):
        if self._pool is None:
            import multiprocessing as mp
            from concurrent.futures import ProcessPoolExecutor
            ctx = mp.get_context("fork" if sys.platform.startswith("linux") else "spawn")
            self._pool = ProcessPoolExecutor(self.workers, mp_context=ctx, initializer=_worker_init)
        return self._pool

    def run(self, payloads):
        from concurrent.futures import as_completed
        pool = self._get()
        futs = {pool.submit(_execute, fn, args, kwargs): k for k, (fn, args, kwargs) in enumerate(payloads)}
        try:
            for f in as_completed(futs):
                yield futs[f], f.result()
        except BaseException:
            for f in futs:
                f.cancel()
            raise

    def close(self, kill: bool = False):
        if self._pool is not None:
            if kill:
                for p in list(getattr(self._pool, "_processes", {}).values()):
                    with contextlib.suppress(Exception):
                        p.terminate()
            self._pool.shutdown(wait=not kill, cancel_futures=True)
            self._pool = None


class DaskBackend:
    """Dask distributed: ``address="local"`` starts a ``LocalCluster`` (``workers`` processes, one
    thread each); otherwise connects to the scheduler at ``address`` (its workers need this package
    installed). Needs ``pip install "asymptotics[dask]"``."""

    name = "dask"

    def __init__(self, address: str, workers: int | None = None):
        try:
            from dask.distributed import Client, LocalCluster
        except ImportError:
            raise ImportError('--dask needs the Dask extra: pip install "asymptotics[dask]"') from None
        self._cluster = None
        if address == "local":
            n = workers or os.cpu_count() or 1
            self._cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                                         dashboard_address=None)
            self._client = Client(self._cluster)
            self.workers = n
        else:
            try:
                self._client = Client(address, timeout=10)
            except (OSError, TimeoutError) as e:
                raise ValueError(f"--dask {address!r}: cannot reach a Dask scheduler there ({e})") from None
            self.workers = max(1, sum(self._client.nthreads().values()))

    def run(self, payloads):
        from dask.distributed import as_completed
        futs = [self._client.submit(_execute, fn, args, kwargs, pure=False) for fn, args, kwargs in payloads]
        index = {f.key: k for k, f in enumerate(futs)}
        try:
            for f in as_completed(futs):
                yield index[f.key], f.result()
        except BaseException:
            self._client.cancel(futs)
            raise

    def close(self, kill: bool = False):
        with contextlib.suppress(Exception):
            self._client.close()
        if self._cluster is not None:
            with contextlib.suppress(Exception):
                self._cluster.close()


def make_backend(workers: int | None = None, dask: str | None = None):
    """The backend of ``--workers N`` / ``--dask local|ADDRESS`` (validated)."""
    if workers is not None:
        if isinstance(workers, bool) or not isinstance(workers, (int, np.integer)) or workers < 1:
            raise ValueError(f"--workers must be an integer >= 1, got {workers!r}")
        workers = int(workers)
        cap = 4 * (os.cpu_count() or 1)
        if workers > cap:
            raise ValueError(f"--workers must be <= {cap} (4 x the {os.cpu_count()} cores), got {workers}")
    if dask is not None:
        if not isinstance(dask, str) or not dask.strip():
            raise ValueError("--dask takes 'local' or a scheduler address (tcp://host:8786)")
        return DaskBackend(dask.strip(), workers)
    if workers is None or workers == 1:
        return Serial()
    return Processes(workers)


# ------------------------------------------------------------------------------------------------
# the runner
# ------------------------------------------------------------------------------------------------
class Interrupted(KeyboardInterrupt):
    """Ctrl-C during a run. ``partial`` holds what the interrupted function could finish (set by the
    layer that knows how to use it: a list of checks, ...); ``runner`` the runner (its counts)."""

    def __init__(self, partial=None, runner=None):
        super().__init__()
        self.partial = partial
        self.runner = runner


_ACTIVE: contextvars.ContextVar = contextvars.ContextVar("asymptotics_runner", default=None)


class Runner:
    """Maps units to ``(result, seconds)`` through a store and a backend, with a progress bar.

    Args:
        store: a :class:`Store` (or ``None``: nothing kept).
        backend: :class:`Serial` (default), :class:`Processes` or :class:`DaskBackend`.
        progress: show a progress bar on stderr (default: when stderr is a terminal).
        desc: the bar's label.

    Attributes ``computed`` and ``reused`` count the units computed now and read from the store.
    """

    def __init__(self, store: Store | None = None, backend=None, *, progress: bool | None = None,
                 desc: str = ""):
        self.store = store
        self.backend = backend or Serial()
        if progress is None:
            progress = bool(getattr(sys.stderr, "isatty", lambda: False)())
        self.progress = progress
        self.desc = desc
        self.computed = 0
        self.reused = 0
        self.seconds = 0.0
        self._bar = None
        self._token = None

    # context: the active runner is what run_groups and the experiments use
    def __enter__(self):
        self._token = _ACTIVE.set(self)
        return self

    def __exit__(self, kind, exc, tb):
        interrupted = kind is not None and issubclass(kind, KeyboardInterrupt)
        self.close(kill=interrupted, failed=kind is not None and not interrupted)
        if self._token is not None:
            _ACTIVE.reset(self._token)
            self._token = None
        return False

    def close(self, kill: bool = False, failed: bool = False):
        """Stop the bar and the backend (``kill``: without waiting for running units) and close the
        store (``failed``: the run raised, so a store it created and left empty is deleted)."""
        if self._bar is not None:
            self._bar.close()
            self._bar = None
        if hasattr(self.backend, "close"):
            try:
                self.backend.close(kill=kill)
            except TypeError:
                self.backend.close()
        if self.store is not None:
            self.store.close(drop_if_empty=failed)

    def _progress(self, n_new: int):
        if not self.progress:
            return None
        if self._bar is None:
            from tqdm import tqdm
            self._bar = tqdm(total=0, desc=self.desc or "units", unit="unit", file=sys.stderr,
                             delay=PROGRESS_DELAY, dynamic_ncols=True, leave=False)
        self._bar.total += n_new
        self._bar.refresh()
        return self._bar

    def map(self, units: Sequence[Unit]) -> list:
        """``[(result, seconds)]`` in the order of ``units`` (results decoded from their JSON text).

        Raises:
            Interrupted: on Ctrl-C, after the finished units were stored and the workers stopped.
        """
        units = list(units)
        ids = [u.ident() for u in units]
        out: list = [None] * len(units)
        found = self.store.get(ids) if self.store is not None else {}
        missing = []
        for k, i in enumerate(ids):
            if i in found:
                res, sec = found[i]
                out[k] = (json.loads(res), float(sec))
            else:
                missing.append(k)
        self.reused += len(units) - len(missing)
        bar = self._progress(len(units))
        if bar is not None and len(units) > len(missing):
            bar.update(len(units) - len(missing))
        payloads = [(units[k].fn, units[k].args, units[k].kwargs) for k in missing]
        try:
            for m, (text, sec) in self.backend.run(payloads):
                k = missing[m]
                if self.store is not None:
                    self.store.put(ids[k], units[k].spec(), text, sec)
                out[k] = (json.loads(text), float(sec))
                self.computed += 1
                self.seconds += sec
                if bar is not None:
                    bar.update(1)
        except KeyboardInterrupt:
            # partial: the results of this call so far (None where a unit did not finish)
            raise Interrupted(out, self) from None
        return out

    def summary(self) -> str:
        """One line: what was computed, reused and where it is stored."""
        where = f"stored in {self.store.path}" if self.store is not None else "not stored (--no-store)"
        return (f"{self.computed} units computed, {self.reused} read from the store; {where}"
                + ("; rerun the same command to resume" if self.store is not None else ""))


def current() -> Runner:
    """The active runner (set by ``with Runner(...):``), else a plain in-process one."""
    r = _ACTIVE.get()
    return r if r is not None else Runner(progress=False)


def interrupted_summary(runner: Runner | None) -> str:
    """The one-line summary printed on Ctrl-C."""
    if runner is None:
        return "interrupted"
    return f"interrupted: {runner.summary()}"
