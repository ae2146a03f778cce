"""Where a runtime's dependency files live in a project (seed 004 §2).

::

    requirements/<runtime>/runtime-baseline.in      what the runtime ships (captured or imported)
    requirements/<runtime>/additional-packages.in   what the team adds (hand-written)
    requirements/<runtime>/requirements-combined.in generated: the additions constrained by the baseline
    requirements/<runtime>/requirements.txt         generated: the lock
    init/<runtime>/enforce-lock.sh                  generated: the init script enforcing the lock

``<runtime>`` is the runtime's ``spark_version`` key (``15.4.x-cpu-ml-scala2.12``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from dbx_ops.deps.baseline import BASELINE_FILE, Runtime, runtime_for
from dbx_ops.errors import InvalidInputError, NotFoundError

ADDITIONS_FILE = "additional-packages.in"
COMBINED_FILE = "requirements-combined.in"
LOCK_FILE = "requirements.txt"
INIT_SCRIPT = "enforce-lock.sh"


@dataclass(frozen=True)
class RuntimeFiles:
    """The files of one runtime in a project.

    Attributes:
        root: the project folder (holding ``requirements/`` and ``init/``).
        runtime: the runtime.
    """

    root: Path
    runtime: Runtime

    @classmethod
    def of(cls, root: str | Path, key: str) -> RuntimeFiles:
        """The files of runtime ``key`` under project ``root``."""
        return cls(Path(root).resolve(), runtime_for(key))

    @property
    def folder(self) -> Path:
        """``requirements/<runtime>``."""
        return self.root / "requirements" / self.runtime.key

    @property
    def baseline(self) -> Path:
        """The runtime baseline."""
        return self.folder / BASELINE_FILE

    @property
    def additions(self) -> Path:
        """The team's additions."""
        return self.folder / ADDITIONS_FILE

    @property
    def combined(self) -> Path:
        """The generated resolver input."""
        return self.folder / COMBINED_FILE

    @property
    def lock(self) -> Path:
        """The lock."""
        return self.folder / LOCK_FILE

    @property
    def init_script(self) -> Path:
        """The generated init script."""
        return self.root / "init" / self.runtime.key / INIT_SCRIPT

    def require(self, path: Path, hint: str) -> Path:
        """``path`` if it exists.

        Raises:
            NotFoundError: naming the file and how to create it.
        """
        if not path.is_file():
            raise NotFoundError(f"{path} does not exist; {hint}")
        return path


def read_text(path: str | Path) -> str:
    """A requirements, lock, baseline or constraints file's text.

    Raises:
        InvalidInputError: the file is not UTF-8 text, or cannot be read (a folder, no permission).
    """
    file = Path(path)
    try:
        return file.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidInputError(
            f"{file} is not UTF-8 text (byte {exc.start} cannot be read); save it as UTF-8."
        ) from None
    except OSError as exc:
        raise InvalidInputError(f"{file} cannot be read ({exc.strerror or exc}).") from None


def known_runtimes(root: str | Path) -> list[str]:
    """The runtime keys that have a folder under ``requirements/``."""
    folder = Path(root) / "requirements"
    if not folder.is_dir():
        return []
    return sorted(p.name for p in folder.iterdir() if (p / BASELINE_FILE).is_file())
