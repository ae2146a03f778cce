"""Runtime baselines: the packages a Databricks Runtime ships, pinned exactly.

A baseline file (``requirements/<runtime>/runtime-baseline.in``) is a header of
``# key: value`` lines (runtime, Databricks Runtime version, Python version,
capture date, source) followed by one ``name==version`` line per package.

It comes from one of two places:

- :func:`capture_baseline`, run in a notebook on a cluster of that runtime:
  reads every installed distribution with ``importlib.metadata``.
- :func:`import_baseline`, offline: converts a published ``constraints.txt``
  (``name~=version`` lines, as in ``pietern/databricks-environments``) to exact pins.
"""

from __future__ import annotations

import logging
import os
import platform
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dbx_ops.clock import Clock, utc_now
from dbx_ops.deps.requirements import Pin, _show, canonical, make_pin, validate_name
from dbx_ops.errors import InvalidInputError

logger = logging.getLogger(__name__)

BASELINE_FILE = "runtime-baseline.in"
#: Distributions never written into a captured baseline (this tool itself).
CAPTURE_EXCLUDE = frozenset({"dbx-ops"})

_KEY = re.compile(r"^(?P<dbr>\d+\.\d+)\.x-(?:(?P<flavour>cpu-ml|gpu-ml|photon)-)?scala(?P<scala>2\.1[23])$")
_HEADER = re.compile(r"^#\s*(?P<key>[a-z][a-z -]*):\s*(?P<value>.*)$")
_CONSTRAINT = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:~=|==)\s*(?P<version>\S+)$")
_URL_LINE = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)\s*@\s*\S+$")
_MASKED = re.compile(r"^#\s+-\s+(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)==(?P<version>\S+)$")

#: Python version of each runtime's notebooks (Databricks release notes).
_MASKED_NOTE = "masked in the published file (installed, not constrained):"
_FIXED = ("# Python packages Databricks runtime", "# Used as constraints by")
_PYTHON_BY_DBR = {"13.3": "3.10", "14.3": "3.10", "15.4": "3.11", "16.4": "3.12", "17.3": "3.12"}
_SERVERLESS = {"serverless-v4": ("client.4", "3.12")}


@dataclass(frozen=True)
class Runtime:
    """A Databricks Runtime, named by its ``spark_version`` key.

    Attributes:
        key: the ``spark_version`` key (``15.4.x-cpu-ml-scala2.12``) or ``serverless-v4``.
        dbr: the value Databricks sets in ``DATABRICKS_RUNTIME_VERSION`` (``15.4``).
        python: the runtime's Python version (``3.11``).
        flavour: ``standard``, ``ml``, ``gpu`` or ``serverless``.
        platform: the ``--python-platform`` the lock is resolved for.
    """

    key: str
    dbr: str
    python: str
    flavour: str
    platform: str = "x86_64-manylinux_2_28"

    @property
    def supports_init_scripts(self) -> bool:
        """Serverless compute does not run cluster init scripts."""
        return self.flavour != "serverless"


def runtime_for(key: str, python: str | None = None) -> Runtime:
    """The :class:`Runtime` for a ``spark_version`` key.

    Args:
        key: e.g. ``15.4.x-scala2.12``, ``17.3.x-gpu-ml-scala2.13``, ``serverless-v4``.
        python: the Python version, needed only for runtimes this table does not know.

    Raises:
        InvalidInputError: when the key is malformed, or the Python version is unknown.
    """
    if key in _SERVERLESS:
        dbr, py = _SERVERLESS[key]
        return Runtime(key, dbr, python or py, "serverless")
    match = _KEY.match(key or "")
    if not match:
        raise InvalidInputError(
            f"{key!r} is not a runtime key; use the cluster's spark_version, e.g. 15.4.x-cpu-ml-scala2.12."
        )
    dbr = match.group("dbr")
    py = python or _PYTHON_BY_DBR.get(dbr) or ""
    if not py:
        raise InvalidInputError(
            f"The Python version of runtime {dbr} is not known; pass it (e.g. --python 3.12)."
        )
    if not re.fullmatch(r"3\.\d+", py):
        raise InvalidInputError(f"{py!r} is not a Python version like 3.11.")
    flavour = {"cpu-ml": "ml", "gpu-ml": "gpu"}.get(match.group("flavour") or "", "standard")
    return Runtime(key, dbr, py, flavour)


@dataclass(frozen=True)
class Baseline:
    """The packages one runtime ships.

    Attributes:
        runtime: the runtime key.
        python: the Python version.
        captured: when it was captured or imported (ISO date).
        source: where it came from (a cluster capture or a published file).
        pins: the packages, sorted by canonical name.
        notes: extra header comment lines, kept when the file is rewritten.
        unpinned: packages installed from a URL (no index version): never constrained, never strays.
    """

    runtime: str
    python: str
    captured: str
    source: str
    pins: tuple[Pin, ...]
    notes: tuple[str, ...] = field(default=())
    unpinned: tuple[str, ...] = field(default=())

    def names(self) -> frozenset[str]:
        """Every package the runtime ships (pinned or installed from a URL)."""
        return frozenset(p.name for p in self.pins) | frozenset(self.unpinned)

    def versions(self) -> dict[str, str]:
        """Canonical name -> version."""
        return {p.name: p.version for p in self.pins}

    def masked(self) -> dict[str, str]:
        """Packages the runtime ships that the published file masks (name -> installed version).

        They are not constraints, so a lock may move them; see :meth:`Locker.lock`'s warnings.
        """
        out: dict[str, str] = {}
        for note in self.notes:
            if note.startswith(_MASKED_NOTE):
                for item in note[len(_MASKED_NOTE) :].split(","):
                    name, _, version = item.strip().partition("==")
                    if name and version:
                        out[canonical(name)] = version
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "runtime": self.runtime,
            "python": self.python,
            "captured": self.captured,
            "source": self.source,
            "packages": {p.name: p.version for p in self.pins},
            "unpinned": list(self.unpinned),
        }

    def to_html(self, written_to: str | Path | None = None) -> str:
        """HTML for ``displayHTML``: what was captured, where it was written, every package."""
        from dbx_ops import render

        where = f"written to {written_to}" if written_to else "not written (no output path)"
        title = f"{len(self.pins)} packages of {self.runtime} (Python {self.python})"
        table = render.html_table([[p.name, p.version] for p in self.pins], ["package", "version"])
        return render.container(render.verdict_card(title, True, f"{where}; source: {self.source}"), table)

    def render(self) -> str:
        """The baseline file's text (deterministic for the same content)."""
        rt = runtime_for(self.runtime, self.python)
        lines = [
            f"# Python packages Databricks runtime {self.runtime} ships, pinned exactly.",
            "# Used as constraints by `dbx-ops deps lock`; regenerate with `dbx-ops deps capture`.",
            f"# runtime: {self.runtime}",
            f"# databricks-runtime-version: {rt.dbr}",
            f"# python: {self.python}",
            f"# captured: {self.captured}",
            f"# source: {self.source}",
        ]
        if self.unpinned:
            lines.append(f"# unpinned: {', '.join(self.unpinned)}")
        lines += [f"# {n}" if n else "#" for n in self.notes]
        lines.append("")
        lines += [p.text() for p in self.pins]
        return "\n".join(lines) + "\n"


def parse_baseline(text: str, source: str = BASELINE_FILE) -> Baseline:
    """Parse a baseline file written by :meth:`Baseline.render`.

    ``name~=version`` lines are accepted too and read as the installed version.

    Raises:
        InvalidInputError: when the header lacks the runtime or Python version, or a line is not a pin.
    """
    header: dict[str, str] = {}
    notes: list[str] = []
    pins: dict[str, Pin] = {}
    for number, raw in enumerate(text.removeprefix("\ufeff").splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        if line.startswith("#"):
            match = _HEADER.match(line)
            if match and match.group("key") in (
                "runtime",
                "python",
                "captured",
                "source",
                "databricks-runtime-version",
                "unpinned",
            ):
                header[match.group("key")] = match.group("value").strip()
            elif not pins and not line.startswith(_FIXED):
                notes.append(line[1:].strip())
            continue
        match = _CONSTRAINT.match(line.split(";")[0].strip())
        if not match:
            raise InvalidInputError(
                f"{source}:{number}: {_show(line)} is not a pinned package (name==version)."
            )
        pin = make_pin(match.group("name"), match.group("version"), where=f"{source}:{number}")
        pins[pin.name] = pin
    for key in ("runtime", "python"):
        if key not in header:
            raise InvalidInputError(
                f"{source} has no '# {key}: ...' header line; capture or import it again."
            )
    return Baseline(
        runtime=header["runtime"],
        python=header["python"],
        captured=header.get("captured", ""),
        source=header.get("source", ""),
        pins=tuple(pins[k] for k in sorted(pins)),
        notes=tuple(notes),
        unpinned=tuple(
            sorted(canonical(n.strip()) for n in header.get("unpinned", "").split(",") if n.strip())
        ),
    )


def import_baseline(constraints: str, runtime: str, imported_on: str, source: str) -> Baseline:
    """Convert a published ``constraints.txt`` into a baseline.

    The published files write each installed version as ``name~=version``;
    the cluster has exactly that version, so it becomes ``name==version``.
    Packages the file masks in its header (``#   - name==version``) are kept
    as a note, not as pins.

    Args:
        constraints: the published file's text.
        runtime: the runtime key it belongs to.
        imported_on: the import date (ISO).
        source: a description of where the file came from.

    Raises:
        InvalidInputError: when a line is neither a comment nor a ``~=``/``==`` pin.
    """
    rt = runtime_for(runtime)
    pins: dict[str, Pin] = {}
    masked: list[str] = []
    unpinned: set[str] = set()
    title = ""
    for number, raw in enumerate(constraints.removeprefix("\ufeff").splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        if line.startswith("#"):
            m = _MASKED.match(line)
            if m:
                masked.append(f"{canonical(m.group('name'))}=={m.group('version')}")
            elif not title:
                title = line.lstrip("# ").strip()
            continue
        url = _URL_LINE.match(line)
        if url:
            unpinned.add(canonical(validate_name(url.group("name"), f"constraints.txt:{number}")))
            continue
        match = _CONSTRAINT.match(line.split(";")[0].strip())
        if not match:
            raise InvalidInputError(f"constraints.txt:{number}: {_show(line)} is not a name~=version line.")
        pin = make_pin(match.group("name"), match.group("version"), where=f"constraints.txt:{number}")
        pins[pin.name] = pin
    if not pins:
        raise InvalidInputError(
            f"The constraints file for {rt.key} has no packages (no name~=version lines); "
            "nothing was written: check the file is the published constraints.txt of that runtime."
        )
    notes = [f"published title: {title}"] if title else []
    notes.append("versions converted from ~= to == (the published file names the installed version)")
    if masked:
        notes.append(f"{_MASKED_NOTE} " + ", ".join(masked))
    return Baseline(
        runtime=rt.key,
        python=rt.python,
        captured=imported_on,
        source=source,
        pins=tuple(pins[k] for k in sorted(pins)),
        notes=tuple(notes),
        unpinned=tuple(sorted(unpinned)),
    )


def installed_distributions(dists: Iterable[Any] | None = None) -> dict[str, str]:
    """Canonical name -> version of every distribution the running interpreter sees.

    Uses ``importlib.metadata`` (not the deprecated ``pkg_resources``). When a
    name is installed twice the first one on ``sys.path`` wins, as for ``import``.
    """
    from importlib import metadata

    out: dict[str, str] = {}
    for dist in metadata.distributions() if dists is None else dists:
        name = dist.metadata["Name"] if dist.metadata else None
        if not name or not dist.version:
            continue
        out.setdefault(canonical(name), dist.version)
    return out


def runtime_key_from_spark(spark: Any) -> str | None:
    """The cluster's ``spark_version`` key from the Spark conf, when Databricks sets it."""
    try:
        value = spark.conf.get("spark.databricks.clusterUsageTags.sparkVersion", None)
    except Exception:
        logger.debug("spark_version tag not readable", exc_info=True)
        return None
    return str(value) if value else None


def capture_baseline(
    runtime: str | None = None,
    path: str | Path | None = None,
    *,
    spark: Any = None,
    env: Mapping[str, str] | None = None,
    distributions: Mapping[str, str] | None = None,
    now: Clock = utc_now,
) -> Baseline:
    """Capture what the running cluster ships, with exact versions.

    Run it in a notebook on a fresh cluster of the runtime (before any
    ``%pip install``). Reads every installed distribution with
    ``importlib.metadata``; versions that are not valid PEP 440 are skipped
    with a warning.

    Args:
        runtime: the runtime key; read from the cluster's Spark conf when None.
        path: write the baseline file here (e.g. ``requirements/<runtime>/runtime-baseline.in``).
        spark: the session to read the runtime key from.
        env: environment (``DATABRICKS_RUNTIME_VERSION``); ``os.environ`` when None.
        distributions: name -> version to capture instead of the interpreter's (tests).
        now: the clock stamping the capture (UTC).

    Returns:
        The captured baseline.

    Raises:
        InvalidInputError: when the runtime key cannot be found or does not match the cluster.
    """
    environ = os.environ if env is None else env
    key = runtime or (runtime_key_from_spark(spark) if spark is not None else None)
    if not key:
        raise InvalidInputError(
            "Cannot tell which runtime this is; pass the cluster's spark_version (e.g. 15.4.x-scala2.12)."
        )
    python = ".".join(platform.python_version_tuple()[:2])
    rt = runtime_for(key, python)
    running = environ.get("DATABRICKS_RUNTIME_VERSION")
    if running and running != rt.dbr and not running.startswith(rt.dbr + "."):
        raise InvalidInputError(
            f"This cluster runs Databricks Runtime {running}, not {rt.dbr} ({key}); "
            "capture on a cluster of that runtime."
        )
    found = installed_distributions() if distributions is None else dict(distributions)
    pins = []
    for name, version in sorted(found.items()):
        if canonical(name) in CAPTURE_EXCLUDE:
            continue
        try:
            pins.append(make_pin(name, version))
        except InvalidInputError as exc:
            logger.warning("skipping %s: %s", name, exc)
    stamp = now().strftime("%Y-%m-%dT%H:%M:%SZ")
    where = f"DBR {running}" if running else "a local interpreter"
    baseline = Baseline(
        runtime=key,
        python=python,
        captured=stamp,
        source=f"captured with importlib.metadata on {where} (Python {platform.python_version()})",
        pins=tuple(sorted({p.name: p for p in pins}.values(), key=lambda p: p.name)),
    )
    if path is not None:
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(baseline.render())
        logger.info("wrote %d packages to %s", len(baseline.pins), target)
    return baseline
