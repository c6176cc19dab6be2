"""A real Slurm cluster on this machine for tests: munged, slurmctld and slurmd (Debian's
`slurm-wlm` and `munge`), configured in a private folder, started and stopped by `LocalSlurm`.

    python tests/slurm/local_slurm.py start DIR   # prints `export SLURM_CONF=DIR/slurm.conf`
    python tests/slurm/local_slurm.py stop DIR

The node is this machine as `slurmd -C` describes it (its CPUs and memory), one partition
`test`; processes are tracked without cgroups (`proctrack/linuxproc`), so it runs in a
container. Needs root (slurmd runs jobs as the submitting user) and the packages installed:
`apt-get install slurm-wlm munge`.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

PROGRAMS = ("slurmctld", "slurmd", "munged", "sbatch", "squeue", "scancel", "sinfo")


def missing_programs() -> list[str]:
    """The programs of slurm-wlm and munge that are not on PATH (or in /usr/sbin)."""
    path = os.environ.get("PATH", "") + os.pathsep + "/usr/sbin"
    return [p for p in PROGRAMS if shutil.which(p, path=path) is None]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _sbin(name: str) -> str:
    return shutil.which(name, path=os.environ.get("PATH", "") + os.pathsep + "/usr/sbin")


class LocalSlurm:
    """Start (`start`) and stop (`stop`) a one-node Slurm cluster whose files live in `root`;
    `env` is the environment for clients (SLURM_CONF set)."""

    def __init__(self, root: str | Path):
        self.root = Path(root).resolve()
        self.conf = self.root / "slurm.conf"
        self.env = dict(os.environ, SLURM_CONF=str(self.conf))

    def _write_conf(self) -> None:
        node = subprocess.run([_sbin("slurmd"), "-C"], capture_output=True, text=True,
                              check=True).stdout.splitlines()[0]
        host = socket.gethostname().split(".")[0]
        d = self.root
        for sub in ("state", "spool"):
            (d / sub).mkdir(parents=True, exist_ok=True)
        self.conf.write_text(f"""\
ClusterName=schoolflow-test
SlurmctldHost={host}(127.0.0.1)
SlurmctldPort={_free_port()}
SlurmdPort={_free_port()}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation={d / 'state'}
SlurmdSpoolDir={d / 'spool'}
SlurmctldPidFile={d / 'slurmctld.pid'}
SlurmdPidFile={d / 'slurmd.pid'}
SlurmctldLogFile={d / 'slurmctld.log'}
SlurmdLogFile={d / 'slurmd.log'}
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SchedulerType=sched/builtin
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=none
ReturnToService=2
SlurmdTimeout=30
InactiveLimit=0
KillWait=5
{node} NodeAddr=127.0.0.1 State=UNKNOWN
PartitionName=test Nodes={host} Default=YES MaxTime=INFINITE State=UP OverSubscribe=FORCE:4
""")

    def _start_munge(self) -> None:
        probe = subprocess.run(["munge", "-n"], capture_output=True)
        if probe.returncode == 0:
            return  # a munged is running already
        run = Path("/run/munge")
        run.mkdir(parents=True, exist_ok=True)
        shutil.chown(run, "munge", "munge")
        subprocess.run(["runuser", "-u", "munge", "--", _sbin("munged")], check=True)
        for _ in range(50):
            if subprocess.run(["munge", "-n"], capture_output=True).returncode == 0:
                return
            time.sleep(0.1)
        raise RuntimeError("munged did not start")

    def start(self, timeout: float = 60.0) -> LocalSlurm:
        """Write the configuration, start munged (if none runs), slurmctld and slurmd, and wait
        until the node is idle."""
        self._write_conf()
        self._start_munge()
        for daemon in ("slurmctld", "slurmd"):
            subprocess.run([_sbin(daemon), "-f", str(self.conf)], env=self.env, check=True)
        deadline = time.time() + timeout
        state = ""
        while time.time() < deadline:
            out = subprocess.run(["sinfo", "-h", "-o", "%t"], env=self.env, capture_output=True,
                                 text=True)
            state = out.stdout.strip()
            if out.returncode == 0 and state.startswith("idle"):
                return self
            time.sleep(0.5)
        self.stop()
        raise RuntimeError(f"the Slurm node did not become idle (state {state!r}); see "
                           f"{self.root / 'slurmctld.log'} and {self.root / 'slurmd.log'}")

    def stop(self) -> None:
        """Cancel every job and stop slurmd and slurmctld (munged is left running)."""
        subprocess.run(["scancel", "--full", "-u", os.environ.get("USER", "root")],
                       env=self.env, capture_output=True)
        for daemon in ("slurmd", "slurmctld"):
            pid_file = self.root / f"{daemon}.pid"
            if pid_file.exists():
                try:
                    os.kill(int(pid_file.read_text().strip()), signal.SIGTERM)
                except (ProcessLookupError, ValueError):
                    pass
        time.sleep(1.0)

    def jobs(self) -> list[str]:
        """The queue as "job id, state, name" lines (jobs slurmctld still lists)."""
        out = subprocess.run(["squeue", "-h", "-o", "%i %T %j"], env=self.env,
                             capture_output=True, text=True)
        return out.stdout.split("\n") if out.stdout.strip() else []


if __name__ == "__main__":
    verb, folder = sys.argv[1], sys.argv[2]
    cluster = LocalSlurm(folder)
    if verb == "start":
        cluster.start()
        print(f"export SLURM_CONF={cluster.conf}")
    else:
        cluster.stop()
