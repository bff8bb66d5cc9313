"""``python -m asymptotics`` is the ``asymptotics`` command."""
from asymptotics.cli import main

if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
