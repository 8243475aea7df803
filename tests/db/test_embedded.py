"""The embedded cluster: created once, reused when running, restarted cleanly after a crash."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from app.embedded import EmbeddedCluster
from tests.helpers import new_temp_dir


@pytest.fixture
def cluster() -> Iterator[EmbeddedCluster]:
    data_dir = new_temp_dir("frontline-embedded-")
    cluster = EmbeddedCluster(data_dir, fsync=False)
    yield cluster
    cluster.stop()
    shutil.rmtree(data_dir, ignore_errors=True)


def answers(cluster: EmbeddedCluster) -> bool:
    with psycopg.connect(host=str(cluster.socket_dir), user="frontline", dbname="frontline") as conn:
        return conn.execute("SELECT 1").fetchone() == (1,)


def wait_dead(pid: int) -> None:
    for _ in range(100):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        try:
            os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            pass
        time.sleep(0.05)
    raise AssertionError(f"process {pid} did not exit")


def test_start_creates_then_reuses(cluster: EmbeddedCluster) -> None:
    assert cluster.start() == "created"
    pid = cluster.status().pid
    assert cluster.start() == "reused"
    assert cluster.status().pid == pid and answers(cluster)
    # It listens on its own socket only, never on a TCP port.
    with psycopg.connect(host=str(cluster.socket_dir), user="frontline", dbname="frontline") as conn:
        assert conn.execute("SHOW listen_addresses").fetchone() == ("",)


def test_stop_then_start_again(cluster: EmbeddedCluster) -> None:
    cluster.start()
    assert cluster.stop() is True
    assert cluster.status().running is False
    assert cluster.stop() is False
    assert cluster.start() == "started" and answers(cluster)


def test_restart_after_a_crash_leaves_a_stale_pid_file(cluster: EmbeddedCluster) -> None:
    cluster.start()
    pid = cluster.status().pid
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    wait_dead(pid)
    assert (cluster.pgdata / "postmaster.pid").exists()
    assert cluster.status().running is False
    assert cluster.start() == "started" and answers(cluster)


def test_pid_file_naming_a_live_unrelated_process_is_cleared(cluster: EmbeddedCluster) -> None:
    cluster.start()
    cluster.stop()
    sleeper = subprocess.Popen(["sleep", "60"])
    try:
        pidfile = cluster.pgdata / "postmaster.pid"
        pidfile.write_text(f"{sleeper.pid}\n{cluster.pgdata}\n")
        if os.geteuid() == 0 and cluster.os_user:
            shutil.chown(pidfile, cluster.os_user, cluster.os_user)
        assert cluster.status().running is False
        assert cluster.start() == "started" and answers(cluster)
    finally:
        sleeper.kill()
        sleeper.wait()


def test_two_clusters_run_side_by_side(cluster: EmbeddedCluster) -> None:
    other_dir = new_temp_dir("frontline-embedded-")
    other = EmbeddedCluster(other_dir, fsync=False)
    try:
        cluster.start()
        other.start()
        assert answers(cluster) and answers(other)
        assert cluster.status().pid != other.status().pid
    finally:
        other.stop()
        shutil.rmtree(other_dir, ignore_errors=True)


@pytest.mark.skipif(os.geteuid() != 0, reason="only root hands the cluster to an unprivileged user")
def test_as_root_the_cluster_belongs_to_an_unprivileged_user(cluster: EmbeddedCluster) -> None:
    cluster.start()
    import pwd

    owner = pwd.getpwuid(cluster.pgdata.stat().st_uid).pw_name
    assert owner == "frontline" != "root"


@pytest.mark.skipif(os.geteuid() != 0, reason="as a normal user every directory of one's own is reachable")
def test_as_root_an_unreachable_data_dir_is_refused_with_a_clear_message() -> None:
    private = Path(new_temp_dir("frontline-private-"))
    private.chmod(0o700)
    try:
        from app.errors import EmbeddedDatabaseError

        with pytest.raises(EmbeddedDatabaseError, match="cannot write .* FRONTLINE_DATA_DIR"):
            EmbeddedCluster(private / "state", fsync=False).start()
    finally:
        shutil.rmtree(private, ignore_errors=True)
