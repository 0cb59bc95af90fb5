"""Creating the backend's environment as a QgsTask: progress from pip's output, a log file, cancel.

The steps and the choices (which Python, which PyTorch build) are ``backend_env.EnvPlan``'s; this runs
them in a worker thread, writes everything they print to ``<env>.log`` beside the venv, and removes
the venv when the user cancels or a step fails, so that only a complete environment is ever used.
"""

from __future__ import annotations

import queue
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path

from qgis.core import Qgis, QgsMessageLog, QgsTask

from .backend_env import BackendEnvError, EnvPlan, clean_env, index_reachable, mark_ready, remove_env
from .i18n import tr

LOG_TAG = "RemoteCLIP"
EXPECTED_PACKAGES = 80      # what the pinned requirements resolve to, with torch's own dependencies
KILL_AFTER_S = 5.0
# progress (percent) at the start of each step
STEP_START = {"venv": 0.0, "install": 5.0, "check": 92.0, "model": 96.0}
INSTALL_SHARE = 85.0


def install_progress(lines_seen: list[str]) -> float:
    """Progress within the install step (0-1) from pip's lines: resolving counts the packages found
    ("Collecting" from an index, "Processing" from a local wheel), then "Installing collected packages"
    is most of the way."""
    if any(line.startswith("Installing collected packages") for line in lines_seen):
        return 0.9
    collected = sum(1 for line in lines_seen if line.startswith(("Collecting ", "Processing ")))
    return min(0.8, 0.8 * collected / EXPECTED_PACKAGES)


def last_error_line(lines: list[str]) -> str:
    """pip's own reason ("ERROR: ..."), else the last line printed."""
    for line in reversed(lines):
        if line.startswith("ERROR:"):
            return line
    return lines[-1] if lines else ""


class BackendEnvTask(QgsTask):
    """Create the venv of ``plan`` (see backend_env); ``on_finished(task)`` runs on the main thread with
    ``task.ok``, ``task.error`` (one line) or ``task.cancelled`` set. ``task.log_file`` holds all output."""

    def __init__(self, plan: EnvPlan, on_finished: Callable[[BackendEnvTask], None] | None = None,
                 probe_index: bool = True) -> None:
        super().__init__(tr("RemoteCLIP: creating the backend environment"), QgsTask.Flag.CanCancel)
        self.plan = plan
        self.on_finished = on_finished
        self.probe_index = probe_index
        self.log_file = Path(str(plan.env_dir) + ".log")
        self.ok = False
        self.error: str | None = None
        self.cancelled = False
        self.torch_version: str | None = None
        self.model_note = ""  # one line when the default model could not be fetched (the environment is ready)
        self.step = ""

    # ------------------------------------------------------------ worker thread

    def _log(self, fh, text: str) -> None:
        fh.write(text.rstrip("\n") + "\n")
        fh.flush()

    def _run_step(self, fh, name: str, cmd: list[str]) -> list[str]:
        """Run one command, streaming its output to the log; returns its lines. Raises on failure/cancel."""
        self.step = name
        self.setProgress(STEP_START[name])
        self._log(fh, f"$ {' '.join(cmd)}")
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                text=True, errors="replace", env=clean_env(), bufsize=1)
        lines: list[str] = []
        out: queue.Queue = queue.Queue()

        def read() -> None:  # pip can print nothing for a minute (unpacking torch): read apart from polling
            for line in proc.stdout:
                out.put(line)
            out.put(None)

        threading.Thread(target=read, daemon=True).start()
        finished_reading = False
        while not finished_reading:
            if self.isCanceled():
                proc.terminate()
                try:
                    proc.wait(timeout=KILL_AFTER_S)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
                raise InterruptedError
            try:
                line = out.get(timeout=0.2)
            except queue.Empty:
                continue
            if line is None:
                finished_reading = True
                continue
            line = line.rstrip()
            lines.append(line)
            self._log(fh, line)
            if name == "install":
                self.setProgress(STEP_START["install"] + INSTALL_SHARE * install_progress(lines))
        code = proc.wait()
        if code != 0:
            reason = last_error_line(lines) or f"exit status {code}"
            raise BackendEnvError(f"{name} step failed: {reason} (log: {self.log_file})")
        return lines

    def run(self) -> bool:
        plan = self.plan
        created = False
        try:
            plan.env_dir.parent.mkdir(parents=True, exist_ok=True)
            with open(self.log_file, "w", encoding="utf-8") as fh:
                self._log(fh, f"RemoteCLIP backend environment, {time.strftime('%Y-%m-%d %H:%M:%S')}")
                self._log(fh, plan.summary())
                if plan.torch.index_url and plan.torch.kind in ("cpu", "cuda") and self.probe_index \
                        and not index_reachable(plan.torch.index_url):
                    note = f"{plan.torch.index_url} is not reachable: PyTorch from PyPI instead"
                    plan.torch = type(plan.torch)("pypi", None, note)
                    plan.notes.append(note)
                    self._log(fh, note)
                if plan.env_dir.exists():  # a leftover of an interrupted creation (a ready one is not redone)
                    remove_env(plan.env_dir)
                created = True
                for name, cmd in plan.steps():
                    lines = self._run_step(fh, name, cmd)
                self.torch_version = lines[-1].strip() if lines else ""
                mark_ready(plan, self.torch_version)
                self._log(fh, f"ready: torch {self.torch_version}")
                self._fetch_model(fh)
            self.setProgress(100.0)
            self.ok = True
            return True
        except InterruptedError:
            self.cancelled = True
        except BackendEnvError as exc:
            self.error = str(exc)
        except OSError as exc:
            self.error = tr("Cannot create the backend environment: {0}").format(exc)
        if created:
            remove_env(plan.env_dir)
        return False

    def _fetch_model(self, fh) -> None:
        """The plan's model step, after the environment is ready: a failure or a cancel leaves it ready and says
        so in ``model_note`` (the dock offers the download later); nothing partial is kept by the download."""
        step = self.plan.model_step()
        if step is None:
            return
        try:
            self._run_step(fh, *step)
            self._log(fh, f"model {self.plan.model}: ready")
        except InterruptedError:
            self.model_note = tr("{0} was not downloaded (cancelled): download it from the RemoteCLIP panel").format(
                self.plan.model)
        except BackendEnvError as exc:
            reason = str(exc).split(": ", 1)[-1].removeprefix("error: ")
            self.model_note = tr("{0} was not downloaded ({1}): download it from the RemoteCLIP panel").format(
                self.plan.model, reason)
        if self.model_note:
            self._log(fh, self.model_note)

    # ------------------------------------------------------------ main thread

    def finished(self, result: bool) -> None:
        if result:
            QgsMessageLog.logMessage(tr("Backend environment ready: {0} (torch {1})").format(
                self.plan.interpreter, self.torch_version), LOG_TAG, Qgis.MessageLevel.Success)
        elif self.cancelled or self.isCanceled():
            self.cancelled = True
            QgsMessageLog.logMessage(tr("Backend environment not created: cancelled"), LOG_TAG, Qgis.MessageLevel.Info)
        else:
            QgsMessageLog.logMessage(self.error or tr("The backend environment could not be created"), LOG_TAG,
                                     Qgis.MessageLevel.Critical)
        if self.on_finished is not None:
            self.on_finished(self)
