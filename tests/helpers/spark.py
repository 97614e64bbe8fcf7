"""A throw-away Spark standalone cluster on 127.0.0.1, started from the pyspark wheel's own jars.

Master and workers run as `bin/spark-class` JVMs in their own process groups, with free ports,
a private conf/log/work directory and small memory; `stop()` kills every group, always.
pyspark is located with importlib (never imported here: only jobs/ imports it).
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

ROOT = Path(__file__).resolve().parents[2]
#: Short-lived test JVMs start faster with the C1 compiler only and the serial GC (about half the CPU).
QUICK_JVM = "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC"
JOB = ROOT / "jobs" / "build_shards.py"


class ClusterError(RuntimeError):
    """The cluster did not come up (the message carries the tail of the relevant log)."""


def spark_home() -> Path:
    """The pyspark installation directory, which holds bin/spark-class and jars/."""
    spec = importlib.util.find_spec("pyspark")
    if spec is None or not spec.submodule_search_locations:
        raise ClusterError("pyspark is not installed in this interpreter")
    return Path(next(iter(spec.submodule_search_locations)))


def java_home() -> Path | None:
    """JAVA_HOME if it holds bin/java, else the JDK behind the `java` on PATH, else None."""
    env = os.environ.get("JAVA_HOME")
    if env and (Path(env) / "bin" / "java").is_file():
        return Path(env)
    java = shutil.which("java")
    return Path(java).resolve().parents[1] if java else None


def spark_available() -> bool:
    """True when both a JDK and pyspark are present (the Spark tests skip otherwise)."""
    return java_home() is not None and importlib.util.find_spec("pyspark") is not None


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def spark_env(workdir: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    """Environment for spark-class / spark-submit: loopback only, private conf dir, this Python."""
    conf = workdir / "conf"
    conf.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    home = java_home()
    if home is not None:
        env["JAVA_HOME"] = str(home)
    env.update(
        SPARK_HOME=str(spark_home()),
        SPARK_CONF_DIR=str(conf),
        SPARK_LOCAL_IP="127.0.0.1",
        SPARK_LOCAL_DIRS=str(workdir / "local"),
        SPARK_LOG_DIR=str(workdir / "logs"),
        SPARK_DAEMON_MEMORY="256m",
        SPARK_DAEMON_JAVA_OPTS=QUICK_JVM,
        PYSPARK_PYTHON=sys.executable,
        PYSPARK_DRIVER_PYTHON=sys.executable,
        PYTHONHASHSEED="0",
    )
    env.pop("SPARK_MASTER", None)
    env.update(extra or {})
    return env


def tail(path: Path, lines: int = 40) -> str:
    """The last lines of a log file, for error messages."""
    try:
        return "\n".join(path.read_text("utf-8", "replace").splitlines()[-lines:])
    except OSError:
        return f"({path} unreadable)"


@dataclass
class Daemon:
    """One spark-class JVM: its process (leader of its own group) and its log file."""

    name: str
    proc: subprocess.Popen[bytes]
    log: Path

    def alive(self) -> bool:
        return self.proc.poll() is None

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """Send `sig` to the whole process group (the JVM, its executors and their Python workers)."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, sig)


@dataclass
class StandaloneCluster:
    """A master and `workers` workers (1 core each) on 127.0.0.1; use as a context manager."""

    workdir: Path
    workers: int = 2
    worker_memory: str = "1g"
    cores: int = 1
    timeout: float = 90.0
    daemons: list[Daemon] = field(default_factory=list)
    master_url: str = ""
    webui: str = ""

    def __enter__(self) -> StandaloneCluster:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def env(self) -> dict[str, str]:
        return spark_env(self.workdir, {"SPARK_MASTER_OPTS": "-Dspark.master.rest.enabled=false",
                                        "SPARK_WORKER_OPTS": "-Dspark.worker.cleanup.enabled=false"})

    def _spawn(self, name: str, args: Sequence[str]) -> Daemon:
        log = self.workdir / "logs" / f"{name}.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        cmd = [str(spark_home() / "bin" / "spark-class"), *args]
        with log.open("wb") as out:
            proc = subprocess.Popen(
                cmd, env=self.env, stdout=out, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, start_new_session=True, cwd=self.workdir,
            )
        daemon = Daemon(name, proc, log)
        self.daemons.append(daemon)
        return daemon

    def start(self) -> None:
        """Start the master, wait for it, start the workers, wait until all are ALIVE."""
        ui_port = free_port()
        master = self._spawn("master", [
            "org.apache.spark.deploy.master.Master",
            "--host", "127.0.0.1", "--port", str(free_port()), "--webui-port", str(ui_port),
        ])
        self.webui = f"http://127.0.0.1:{ui_port}"
        state = self._wait(lambda s: s.get("status") == "ALIVE", [master], "master to be ALIVE")
        self.master_url = str(state["url"])
        for index in range(self.workers):
            self._spawn(f"worker{index}", [
                "org.apache.spark.deploy.worker.Worker",
                "--host", "127.0.0.1", "--port", str(free_port()), "--webui-port", str(free_port()),
                "--cores", str(self.cores), "--memory", self.worker_memory,
                "--work-dir", str(self.workdir / f"work{index}"), self.master_url,
            ])
        self._wait(lambda s: self._alive_count(s) >= self.workers, self.daemons,
                   f"{self.workers} workers to register")

    def state(self) -> dict[str, object]:
        """The master's JSON status page, or {} while it is not answering."""
        try:
            with urllib.request.urlopen(self.webui + "/json/", timeout=5) as resp:
                return dict(json.loads(resp.read().decode("utf-8")))
        except (OSError, ValueError, urllib.error.URLError):
            return {}

    @staticmethod
    def _alive_count(state: dict[str, object]) -> int:
        workers = state.get("workers") or []
        assert isinstance(workers, list)
        return sum(1 for w in workers if isinstance(w, dict) and w.get("state") == "ALIVE")

    def _wait(
        self, ready: Callable[[dict[str, object]], bool], watch: list[Daemon], what: str
    ) -> dict[str, object]:
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            for daemon in watch:
                if not daemon.alive():
                    raise ClusterError(f"{daemon.name} exited ({daemon.proc.returncode}) while waiting "
                                       f"for {what}; log {daemon.log}:\n{tail(daemon.log)}")
            state = self.state()
            if state and ready(state):
                return state
            time.sleep(0.3)
        logs = "\n".join(f"--- {d.name}\n{tail(d.log, 15)}" for d in watch)
        raise ClusterError(f"timed out after {self.timeout:.0f}s waiting for {what}\n{logs}")

    def worker(self, index: int) -> Daemon:
        return [d for d in self.daemons if d.name.startswith("worker")][index]

    def owner(self, pid: int) -> Daemon | None:
        """The daemon whose process tree holds `pid` (e.g. a worker's executor's Python worker)."""
        by_pid = {d.proc.pid: d for d in self.daemons}
        while pid > 1:
            if pid in by_pid:
                return by_pid[pid]
            pid = parent_pid(pid)
        return None

    def stop(self) -> None:
        """SIGTERM every process group, then SIGKILL whatever is left; wait until the groups are gone."""
        for daemon in reversed(self.daemons):
            daemon.kill(signal.SIGTERM)
        deadline = time.monotonic() + 10
        for daemon in reversed(self.daemons):
            with contextlib.suppress(subprocess.TimeoutExpired):
                daemon.proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            daemon.kill(signal.SIGKILL)
            daemon.proc.wait()
        deadline = time.monotonic() + 10
        while any(group_alive(d.proc.pid) for d in self.daemons) and time.monotonic() < deadline:
            time.sleep(0.1)
        self.daemons.clear()


def parent_pid(pid: int) -> int:
    """The parent of `pid` from /proc, or 0 once it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0
    return int(stat.rsplit(")", 1)[1].split()[1])


def group_alive(pgid: int) -> bool:
    """True while any process (zombies included) is left in process group `pgid`."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def submit_command(script: Path | str, args: Sequence[str], master: str | None = None) -> list[str]:
    """`spark-submit [--master M] script args` with small driver/executor memory, no UI and
    quick-starting JVMs."""
    cmd = [str(Path(sys.executable).parent / "spark-submit")]
    if master:
        cmd += ["--master", master]
    return [*cmd, "--conf", "spark.ui.enabled=false", "--conf", "spark.executor.memory=512m",
            "--conf", f"spark.executor.extraJavaOptions={QUICK_JVM}", "--driver-java-options", QUICK_JVM,
            "--driver-memory", "512m", str(script), *args]


def submit(
    script: Path | str, args: Sequence[str], workdir: Path, *, master: str | None = None,
    timeout: float = 300,
) -> subprocess.CompletedProcess[str]:
    """Run spark-submit to completion in `workdir`; stdout and stderr captured as text."""
    return subprocess.run(submit_command(script, args, master), env=spark_env(workdir), capture_output=True,
                          text=True, timeout=timeout, cwd=workdir, check=False)


def start_submit(
    script: Path | str, args: Sequence[str], workdir: Path, log: Path, *, master: str | None = None,
) -> subprocess.Popen[bytes]:
    """Start spark-submit in its own process group (so a test can SIGKILL the whole driver)."""
    with log.open("wb") as out:
        return subprocess.Popen(submit_command(script, args, master), env=spark_env(workdir), stdout=out,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
                                cwd=workdir)


def tree_files(root: Path) -> dict[str, bytes]:
    """Every regular file under `root` as {relative posix path: bytes}, for byte-equality checks."""
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}
