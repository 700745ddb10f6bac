"""Two Store objects on one file in one process must not drop each other's SQLite locks.

POSIX record locks belong to the process and are released when ANY descriptor of the file is closed. A
second Store that read the file's header with a plain open()/close() released the first one's shared lock,
so another process closing its connection believed it was the last, checkpointed and deleted the -wal and
-shm files under the first Store, whose later writes went into an unlinked log and were lost.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from neuralforge_desktop.core.store import Store

from .helpers import sql

_OPEN_AND_CLOSE = ("import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); "
                   "c.execute('SELECT 1 FROM runs').fetchall(); c.close()")


def test_a_second_store_leaves_the_first_ones_locks_in_place(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    first = Store(path)
    run = first.create_run("locks", "first", params={}, environment={})
    second = Store(path)  # opens (and judges) the same file while the first holds its connection
    second.create_run("locks", "second", params={}, environment={})
    # Another process opens and closes the file: with the first Store's lock intact it is not the last user.
    subprocess.run([sys.executable, "-c", _OPEN_AND_CLOSE, str(path)], check=True, timeout=60)
    assert Path(f"{path}-wal").exists(), "the other process deleted the log the first Store is still using"
    first.set_tags(run.id, {"after": "written"})
    first.close()
    second.close()
    assert sql(path, "SELECT value FROM tags WHERE run_id = ? AND key = 'after'", (run.id,)) == [("written",)]
