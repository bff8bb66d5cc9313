"""The results store, the backends and Ctrl-C (theory_checks.runner, issue 14)."""
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

from asymptotics import cli
from theory_checks.runner import Runner, Store, Unit, Processes

CHECK = ["check", "rf", "--psi1", "0.5,3", "--psi2", "1.5", "--lam", "1e-2,1", "--activation", "relu",
         "--seeds", "4", "--d", "30,60", "--format", "json"]


def _square(x):
    return x * x


def test_store_reuses_records_and_refuses_other_arguments(tmp_path):
    path = tmp_path / "s.db"
    units = [Unit(key=dict(x=x), fn=_square, args=(x,)) for x in range(5)]
    with Runner(Store(path, {"a": 1})) as r:
        assert [v for v, _ in r.map(units[:3])] == [0, 1, 4]
    with Runner(Store(path, {"a": 1})) as r:
        assert [v for v, _ in r.map(units)] == [0, 1, 4, 9, 16]
        assert (r.computed, r.reused) == (2, 3)
    with pytest.raises(ValueError, match="other arguments"):
        Store(path, {"a": 2})
    db = sqlite3.connect(path)
    assert db.execute("select count(*), count(distinct id) from records").fetchone() == (5, 5)
    db.execute("update meta set value='0.0.1' where name='version'")
    db.commit()
    db.close()
    with pytest.raises(ValueError, match="written by asymptotics 0.0.1"):
        Store(path, {"a": 1})


def test_foreign_and_corrupt_files_are_refused(tmp_path):
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(ValueError, match="not an asymptotics results store"):
        Store(junk)
    other = tmp_path / "other.db"
    sqlite3.connect(other).execute("create table t (x)").connection.commit()
    with pytest.raises(ValueError, match="not an asymptotics results store"):
        Store(other)
    with pytest.raises(ValueError, match="is a directory"):
        Store(tmp_path)


def test_processes_give_the_same_results_as_in_process():
    units = [Unit(key=dict(x=x), fn=_square, args=(x,)) for x in range(6)]
    with Runner(backend=Processes(2)) as r:
        assert [v for v, _ in r.map(units)] == [x * x for x in range(6)]


def _run(argv, capsys):
    rc = cli.main(argv)
    return rc, capsys.readouterr().out


def test_check_json_identical_for_workers_store_and_rerun(tmp_path, capsys):
    rc1, a = _run(CHECK + ["--no-store"], capsys)
    rc2, b = _run(CHECK + ["--no-store", "--workers", "2"], capsys)
    store = str(tmp_path / "c.db")
    _, c = _run(CHECK + ["--store", store], capsys)
    _, d = _run(CHECK + ["--store", store], capsys)      # everything read back
    assert a == b == c == d and rc1 == rc2
    assert len(json.loads(a)) == 4
    # another argument, same store: refused with a message (exit 2), nothing computed
    with pytest.raises(SystemExit) as e:
        cli.main(CHECK[:-2] + ["--seeds", "5", "--store", store])
    assert e.value.code == 2 and "other arguments" in capsys.readouterr().err


def test_store_flags_are_validated(tmp_path):
    with pytest.raises(SystemExit):
        cli.main(CHECK + ["--store", str(tmp_path / "x.db"), "--no-store"])
    with pytest.raises(SystemExit):
        cli.main(CHECK + ["--workers", "0", "--store", str(tmp_path / "y.db")])
    with pytest.raises(SystemExit):     # refused input: the store it would have made is not left behind
        cli.main(CHECK[:-2] + ["--lam", "-1", "--store", str(tmp_path / "z.db")])
    assert not any((tmp_path / f).exists() for f in ("x.db", "y.db", "z.db"))


@pytest.mark.parametrize("sig", ["SIGINT", "SIGKILL"])
def test_interrupted_check_resumes_to_the_uninterrupted_output(tmp_path, sig):
    """A check killed mid-run and rerun prints exactly the uninterrupted output, with no duplicated
    record; SIGINT stops with exit 130, no traceback and a one-line summary."""
    argv = [sys.executable, "-m", "asymptotics", "check", "rf", "--psi1", "0.5,3", "--psi2", "1.5",
            "--lam", "1e-2,1", "--activation", "relu", "--seeds", "20", "--d", "50,100,200",
            "--format", "json"]
    env = dict(os.environ, PYTHONPATH=os.getcwd())
    full = subprocess.run(argv + ["--no-store"], capture_output=True, text=True, env=env)
    assert full.returncode in (0, 1), full.stderr
    db = str(tmp_path / "k.db")
    p = subprocess.Popen(argv + ["--store", db], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         env=env, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    # interrupt once some records exist
    t0 = time.time()
    while time.time() - t0 < 60 and p.poll() is None:
        time.sleep(0.2)
        if os.path.exists(db):
            try:
                n = sqlite3.connect(db, timeout=1).execute("select count(*) from records").fetchone()[0]
            except sqlite3.Error:
                n = 0
            if n >= 10:
                break
    p.send_signal(getattr(signal, sig))
    out, err = p.communicate(timeout=60)
    if sig == "SIGINT" and p.returncode != 0:     # (it may have finished first)
        assert p.returncode == 130 and "Traceback" not in err and "interrupted:" in err
    again = subprocess.run(argv + ["--store", db], capture_output=True, text=True, env=env)
    assert again.stdout == full.stdout
    n, distinct = sqlite3.connect(db).execute("select count(*), count(distinct id) from records").fetchone()
    assert n == distinct == 2 * 3 * 20
