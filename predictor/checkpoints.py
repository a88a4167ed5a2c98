"""A training run's folder: Orbax checkpoints of (params, optimizer state) by step, the loss
history, the run's identity, and a lock.

What can go wrong with a folder, and what happens:

- another process is training in it: refused (an exclusive lock on RUN_DIR/.lock, released
  when the process ends, however it ends);
- `run.json` names another run, or is damaged: refused, naming the file;
- the latest checkpoint is damaged (a kill or a full disk while writing): the newest intact one
  is used, with a warning; none intact: one error naming the folder;
- `history.json` is damaged: training resumes from the checkpoint, and the warning says the
  losses before it are lost (they are not silently dropped).
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from grammar.errors import RaspError, SettingError
from rasp.language.files import write_text


@contextmanager
def quiet_orbax():
    """Orbax logs its own dump of a damaged file (through absl); our one-line warning says it."""
    logger = logging.getLogger("absl")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        logger.setLevel(level)


def warn(text: str) -> None:
    print(f"warning: {text}", file=sys.stderr)


class Checkpoints:
    """Orbax checkpoints of (params, optimizer state) by step, in RUN_DIR/checkpoints."""

    def __init__(self, run_dir: Path, identity: dict[str, Any]):
        import orbax.checkpoint as ocp

        self.ocp = ocp
        run_dir.mkdir(parents=True, exist_ok=True)
        self.lock = (run_dir / ".lock").open("a+")
        try:
            fcntl.flock(self.lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            self.lock.seek(0)
            holder = self.lock.read().strip() or "another process"
            raise SettingError(f"{run_dir} is in use: {holder} is training there; wait for it to end, or choose "
                               "another {runs}", {"runs": "folder for runs"}) from None
        self.lock.seek(0)
        self.lock.truncate()
        self.lock.write(f"process {os.getpid()}")
        self.lock.flush()
        stamp = run_dir / "run.json"
        if stamp.exists():
            try:
                saved = json.loads(stamp.read_text())
            except (OSError, UnicodeDecodeError, json.JSONDecodeError):
                raise SettingError(f"{stamp} is damaged; remove {run_dir}, or choose another {{runs}}",
                                   {"runs": "folder for runs"}) from None
            if saved != json.loads(json.dumps(identity, default=str)):
                raise SettingError(f"{run_dir} holds checkpoints of a different run; remove it, or choose "
                                   "another {runs}", {"runs": "folder for runs"})
        write_text(stamp, json.dumps(identity, indent=1, default=str))
        options = ocp.CheckpointManagerOptions(max_to_keep=2, enable_async_checkpointing=False)
        self.run_dir = run_dir
        with quiet_orbax():
            self.manager = ocp.CheckpointManager((run_dir / "checkpoints").absolute(), options=options)
        self.history = run_dir / "history.json"

    def close(self) -> None:
        """Let go of the folder (the lock, Orbax's manager)."""
        self.manager.close()
        self.lock.close()

    def latest(self) -> int | None:
        return self.manager.latest_step()

    def save(self, step: int, state: dict[str, Any], losses: list[float], accuracies: list[float],
             checks: list[list[float]]) -> None:
        """The history first (written atomically), then the state: a kill between the two leaves
        a history longer than the checkpoint, which `restore_history` cuts back."""
        write_text(self.history, json.dumps({"losses": losses, "accuracies": accuracies, "checks": checks}))
        if self.manager.latest_step() != step:
            try:
                self.manager.save(step, args=self.ocp.args.StandardSave(state))
                self.manager.wait_until_finished()
            except Exception as e:  # noqa: BLE001 - a full disk surfaces from Orbax or TensorStore in many forms
                raise RaspError(f"cannot write the checkpoint of step {step} in {self.run_dir}: "
                                   f"{type(e).__name__}: {e}; the earlier checkpoints are kept (free some space "
                                   "and run the same command again: it resumes)") from None

    def restore_history(self, step: int) -> tuple[list[float], list[float], list[list[float]]]:
        try:
            saved = json.loads(self.history.read_text())
            losses, accuracies, checks = saved["losses"], saved["accuracies"], saved.get("checks", [])
        except FileNotFoundError:
            return [], [], []
        except (OSError, UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError):
            warn(f"{self.history} is damaged: training resumes from step {step}, but the losses and fit "
                 "checks before it are lost")
            return [], [], []
        return losses[:step], accuracies[:step], [c for c in checks if c[0] <= step]

    def restore(self, like: dict[str, Any]) -> tuple[dict[str, Any], int] | None:
        """The newest intact checkpoint (state, step), or None when there is none. A damaged
        newer one is skipped with a warning."""
        with quiet_orbax():
            steps = sorted(self.manager.all_steps(), reverse=True)
            for step in steps:
                try:
                    return self.manager.restore(step, args=self.ocp.args.StandardRestore(like)), step
                except Exception as e:  # noqa: BLE001 - Orbax and TensorStore raise many kinds for a damaged file
                    warn(f"the checkpoint of step {step} in {self.run_dir / 'checkpoints'} is damaged "
                         f"({type(e).__name__}); trying an earlier one")
        if steps:
            raise SettingError(f"every checkpoint in {self.run_dir / 'checkpoints'} is damaged; remove "
                               f"{self.run_dir} to train from the start, or choose another {{runs}}",
                               {"runs": "folder for runs"})
        return None
