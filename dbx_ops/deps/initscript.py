"""Render the cluster init script that enforces a lock (seed 004 §2 step 4, done safely).

The script (``init/<runtime>/enforce-lock.sh``) runs on every cluster start:

1. refuses to run on another Databricks Runtime than the lock's (``DATABRICKS_RUNTIME_VERSION``);
2. installs the lock's packages that are missing or at another version with the
   cluster's pip, ``--no-deps`` (``--require-hashes`` when the lock has hashes),
   then checks every pin is in place;
3. computes strays = installed - (baseline | lock | protected) and reports them,
   uninstalling them only when ``DBX_OPS_REMOVE_STRAYS=1``;
4. exits non-zero on any failure, so the cluster start fails loudly.

It never runs ``pip freeze | xargs pip uninstall``. Every name, version and
hash is validated before rendering and sits in quoted heredoc data blocks that
the script reads line by line: nothing is ever evaluated. Rendering is pure.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from dbx_ops.deps.baseline import Baseline, parse_baseline, runtime_for
from dbx_ops.deps.layout import RuntimeFiles, read_text
from dbx_ops.deps.lock import LockFile, read_lock
from dbx_ops.deps.requirements import Pin, canonical, injected_reason, make_pin, validate_name
from dbx_ops.errors import InvalidInputError

#: Never reported or removed as strays: pip's own tooling and what Databricks needs to run.
DEFAULT_PROTECTED = (
    "dbx-ops",
    "distribute",
    "pip",
    "pkg-resources",
    "py4j",
    "pyspark",
    "setuptools",
    "wheel",
)
#: Name prefixes never treated as strays (Databricks' own packages).
PROTECTED_PREFIXES = ("databricks-",)
DEFAULT_PIP = "/databricks/python/bin/pip"
_PREFIX = re.compile(r"^[a-z0-9][a-z0-9-]*$")
_DBR = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.]*$")


@dataclass(frozen=True)
class InitScriptSpec:
    """Everything the script needs, validated.

    Attributes:
        runtime: the runtime key.
        dbr: the ``DATABRICKS_RUNTIME_VERSION`` the script accepts.
        lock_source: the lock's path relative to the project (for the header).
        lock_sha256: the lock file's sha256 (for the header).
        pins: the lock's pins.
        baseline: names the runtime ships.
        protected: names never treated as strays.
        protected_prefixes: name prefixes never treated as strays.
    """

    runtime: str
    dbr: str
    lock_source: str
    lock_sha256: str
    pins: tuple[Pin, ...]
    baseline: tuple[str, ...]
    protected: tuple[str, ...] = DEFAULT_PROTECTED
    protected_prefixes: tuple[str, ...] = PROTECTED_PREFIXES

    @property
    def hashed(self) -> bool:
        """True when the lock carries hashes (then every pin must)."""
        return any(p.hashes for p in self.pins)


def build_spec(
    lock: LockFile,
    baseline: Baseline,
    lock_source: str,
    extra_protected: Iterable[str] = (),
) -> InitScriptSpec:
    """Validate a lock and baseline into an :class:`InitScriptSpec`.

    Raises:
        InvalidInputError: when lock and baseline are for different runtimes, only some pins have
            hashes, or a name/version/hash is invalid.
    """
    if lock.runtime != baseline.runtime:
        raise InvalidInputError(
            f"The lock is for {lock.runtime} but the baseline is for {baseline.runtime}; lock again."
        )
    rt = runtime_for(lock.runtime, baseline.python)
    if not rt.supports_init_scripts:
        raise InvalidInputError(
            f"{rt.key} is serverless compute, which runs no init scripts; "
            "give the lock to the job's environment dependencies instead."
        )
    if not _DBR.match(lock.dbr) or lock.dbr != rt.dbr:
        raise InvalidInputError(f"The lock's runtime version {lock.dbr!r} does not match {rt.key}.")
    pins = tuple(make_pin(p.name, p.version, p.hashes, f"{lock.path}: {p.name}") for p in lock.pins)
    for pin in pins:
        reason = injected_reason(pin.name)
        if reason:
            raise InvalidInputError(
                f"{lock.path} pins {pin.name}, which an init script never installs because the Databricks "
                f"runtime provides it: {reason}; remove it from the additions and lock again."
            )
    if any(p.hashes for p in pins) and not all(p.hashes for p in pins):
        missing = ", ".join(p.name for p in pins if not p.hashes)
        raise InvalidInputError(
            f"Only some pins in {lock.path} have hashes (none for: {missing}); lock again."
        )
    protected = sorted({canonical(validate_name(n)) for n in (*DEFAULT_PROTECTED, *extra_protected)})
    for prefix in PROTECTED_PREFIXES:
        if not _PREFIX.match(prefix):
            raise InvalidInputError(f"{prefix!r} is not a valid protected prefix.")
    names = sorted(baseline.names())
    for name in names:
        validate_name(name, "baseline")
    return InitScriptSpec(
        runtime=rt.key,
        dbr=rt.dbr,
        lock_source=lock_source,
        lock_sha256=lock.sha256,
        pins=pins,
        baseline=tuple(names),
        protected=tuple(protected),
        protected_prefixes=PROTECTED_PREFIXES,
    )


_TEMPLATE = r"""#!/usr/bin/env bash
# Cluster init script for Databricks runtime @RUNTIME@ (DATABRICKS_RUNTIME_VERSION=@DBR@).
# Generated by dbx-ops from @LOCK@ (sha256 @SHA@); do not edit.
# Regenerate with: dbx-ops deps init-script --runtime @RUNTIME@
#
# On every cluster start it:
#   1. refuses to run on another runtime than the lock's;
#   2. installs the lock's packages that are missing or at another version with the
#      cluster's pip, --no-deps@HASHNOTE@, then checks every pin is in place;
#   3. reports stray packages (installed, but neither in the runtime baseline, the lock
#      nor protected) and uninstalls them only when DBX_OPS_REMOVE_STRAYS=1;
#   4. exits non-zero on any failure, so the cluster start fails loudly.
# Running it again on a node that matches the lock changes nothing.
#
# Environment:
#   DATABRICKS_RUNTIME_VERSION  set by Databricks; must be @DBR@
#   DBX_OPS_PIP                 the pip to use (default @PIP@)
#   DBX_OPS_REMOVE_STRAYS       1 to uninstall strays, 0 to only report them (default 0)
set -euo pipefail

readonly EXPECTED_RUNTIME='@DBR@'
readonly USE_HASHES=@HASHED@
readonly PIP="${DBX_OPS_PIP:-@PIP@}"
readonly REMOVE_STRAYS="${DBX_OPS_REMOVE_STRAYS:-0}"
readonly PIP_OPTS=(--disable-pip-version-check --no-input)

log() { printf '%s dbx-ops enforce-lock: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*"; }
fail() { log "FAILED: $*"; exit 1; }
todo=""
on_exit() {
  local rc=$?
  if [[ -n "$todo" ]]; then rm -f "$todo"; fi
  if [[ $rc -ne 0 ]]; then log "exit $rc: the environment was NOT brought to the lock"; fi
}
trap on_exit EXIT

# PEP 503 name normalisation: lower case, runs of - _ . become one -.
norm() {
  local n="${1,,}"
  n="${n//_/-}"
  n="${n//./-}"
  while [[ "$n" == *--* ]]; do n="${n//--/-}"; done
  printf '%s' "$n"
}

# True when the installed version satisfies the pin (==, where a pin without a
# local label like +cpu matches the installed build with one).
version_ok() {
  local installed="$1" pinned="$2"
  [[ "${installed,,}" == "${pinned,,}" ]] && return 0
  [[ "$pinned" != *+* && "${installed%%+*}" == "$pinned" ]] && return 0
  return 1
}

runtime="${DATABRICKS_RUNTIME_VERSION:-}"
if [[ "$runtime" != "$EXPECTED_RUNTIME" && "$runtime" != "$EXPECTED_RUNTIME."* ]]; then
  fail "this lock is for Databricks Runtime $EXPECTED_RUNTIME (@RUNTIME@) but" \
    "DATABRICKS_RUNTIME_VERSION is '${runtime:-unset}'; use the init script generated for this runtime."
fi
[[ -x "$PIP" ]] || fail "pip not found at $PIP (set DBX_OPS_PIP)."
if [[ "$REMOVE_STRAYS" != 0 && "$REMOVE_STRAYS" != 1 ]]; then
  fail "DBX_OPS_REMOVE_STRAYS must be 0 or 1, not '$REMOVE_STRAYS'."
fi
log "runtime $runtime matches; enforcing @COUNT@ pinned packages with $PIP"

# name==version per line, read from pip's own listing; anything else is skipped.
declare -A installed=()
read_installed() {
  local listing line
  installed=()
  listing="$("$PIP" list "${PIP_OPTS[@]}" --format=freeze "$@")" || fail "'pip list' failed."
  while IFS= read -r line; do
    if [[ ! "$line" =~ ^([A-Za-z0-9][A-Za-z0-9._-]*)==([^[:space:]]+)$ ]]; then continue; fi
    installed["$(norm "${BASH_REMATCH[1]}")"]="${BASH_REMATCH[2]}"
  done <<< "$listing"
}

# The lock: name==version [--hash=sha256:...]; validated by dbx-ops before rendering.
declare -a lock_lines=()
declare -A locked=()
while IFS= read -r line; do
  if [[ -z "$line" ]]; then continue; fi
  lock_lines+=("$line")
  locked["$(norm "${line%%==*}")"]=1
done <<'DBX_OPS_LOCK'
@LOCKDATA@
DBX_OPS_LOCK

# Names the runtime ships.
declare -A baseline=()
while IFS= read -r name; do
  if [[ -n "$name" ]]; then baseline["$name"]=1; fi
done <<'DBX_OPS_BASELINE'
@BASELINE@
DBX_OPS_BASELINE

# Never strays: pip's tooling and what Databricks needs.
declare -A protected=()
while IFS= read -r name; do
  if [[ -n "$name" ]]; then protected["$name"]=1; fi
done <<'DBX_OPS_PROTECTED'
@PROTECTED@
DBX_OPS_PROTECTED
readonly PROTECTED_PREFIXES=(@PREFIXES@)

# 1. Install what is missing or at another version.
read_installed
todo="$(mktemp)"
pending=0
for entry in "${lock_lines[@]}"; do
  spec="${entry%% *}"
  key="$(norm "${spec%%==*}")"
  want="${spec#*==}"
  have="${installed[$key]:-}"
  if [[ -n "$have" ]] && version_ok "$have" "$want"; then
    continue
  fi
  log "will install $spec (installed: ${have:-none})"
  printf '%s\n' "$entry" >> "$todo"
  pending=$((pending + 1))
done

if [[ $pending -eq 0 ]]; then
  log "all @COUNT@ pinned packages already installed; nothing to install"
else
  install_opts=(--no-deps)
  if [[ $USE_HASHES -eq 1 ]]; then install_opts+=(--require-hashes); fi
  log "installing $pending package(s): pip install ${install_opts[*]}"
  "$PIP" install "${PIP_OPTS[@]}" "${install_opts[@]}" -r "$todo" || fail "pip install of the lock failed."
  read_installed
  for entry in "${lock_lines[@]}"; do
    spec="${entry%% *}"
    key="$(norm "${spec%%==*}")"
    have="${installed[$key]:-}"
    if [[ -z "$have" ]] || ! version_ok "$have" "${spec#*==}"; then
      fail "after installing, $spec is not in place (installed: ${have:-none})."
    fi
  done
  log "installed $pending package(s); every pin is in place"
fi

# 2. Strays: installed in this environment, but neither baseline, lock nor protected.
read_installed --local
strays=()
for key in $(printf '%s\n' "${!installed[@]}" | LC_ALL=C sort); do
  if [[ -n "${baseline[$key]:-}" || -n "${locked[$key]:-}" || -n "${protected[$key]:-}" ]]; then
    continue
  fi
  skip=0
  for prefix in "${PROTECTED_PREFIXES[@]}"; do
    if [[ "$key" == "$prefix"* ]]; then skip=1; fi
  done
  if [[ $skip -eq 0 ]]; then strays+=("$key"); fi
done

if [[ ${#strays[@]} -eq 0 ]]; then
  log "no stray packages"
elif [[ "$REMOVE_STRAYS" == 1 ]]; then
  log "uninstalling ${#strays[@]} stray package(s): ${strays[*]}"
  "$PIP" uninstall "${PIP_OPTS[@]}" -y "${strays[@]}" || fail "pip uninstall of the strays failed."
  log "stray packages removed"
else
  log "stray package(s) not in the baseline or the lock, left installed" \
    "(DBX_OPS_REMOVE_STRAYS=1 removes them): ${strays[*]}"
fi
log "done: the environment matches @LOCK@"
"""


def render_init_script(spec: InitScriptSpec, pip: str = DEFAULT_PIP) -> str:
    """The init script's text for a validated spec (pure, deterministic).

    The text depends only on the spec and ``pip``: not on the dbx_ops version that renders
    it, so upgrading dbx_ops does not change a committed script.

    Args:
        spec: the validated lock, baseline and protected names.
        pip: the default pip path (overridable at run time with ``DBX_OPS_PIP``).

    Raises:
        InvalidInputError: when ``pip`` is not a plain absolute path.
    """
    if not re.fullmatch(r"/[A-Za-z0-9._/-]+", pip):
        raise InvalidInputError(f"{pip!r} is not a plain absolute path to pip.")
    lock_data = "\n".join(p.requirement_line() for p in spec.pins)
    replacements = {
        "@RUNTIME@": spec.runtime,
        "@DBR@": spec.dbr,
        "@LOCK@": spec.lock_source,
        "@SHA@": spec.lock_sha256[:16],
        "@HASHNOTE@": " --require-hashes" if spec.hashed else "",
        "@HASHED@": "1" if spec.hashed else "0",
        "@PIP@": pip,
        "@COUNT@": str(len(spec.pins)),
        "@LOCKDATA@": lock_data,
        "@BASELINE@": "\n".join(spec.baseline),
        "@PROTECTED@": "\n".join(spec.protected),
        "@PREFIXES@": " ".join(f"'{p}'" for p in spec.protected_prefixes),
    }
    text = _TEMPLATE
    for key, value in replacements.items():
        text = text.replace(key, value)
    return text


def _render_for(files: RuntimeFiles, pip: str, extra_protected: Iterable[str]) -> str:
    runtime = files.runtime.key
    files.require(files.baseline, f"run `dbx-ops deps capture --runtime {runtime}` first.")
    files.require(files.lock, f"run `dbx-ops deps lock --runtime {runtime}` first.")
    lock = read_lock(files.lock)
    baseline = parse_baseline(read_text(files.baseline), str(files.baseline))
    source = str(files.lock.relative_to(files.root))
    return render_init_script(build_spec(lock, baseline, source, extra_protected), pip)


def write_init_script(
    root: str | Path, runtime: str, pip: str = DEFAULT_PIP, extra_protected: Iterable[str] = ()
) -> tuple[Path, bool]:
    """Generate ``init/<runtime>/enforce-lock.sh`` from the runtime's lock and baseline.

    Returns:
        The script's path and whether its content changed.

    Raises:
        NotFoundError: when the lock or the baseline is missing.
        InvalidInputError: when they do not validate.
    """
    files = RuntimeFiles.of(root, runtime)
    text = _render_for(files, pip, extra_protected)
    target = files.init_script
    changed = not target.is_file() or target.read_text() != text
    if changed:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    target.chmod(0o755)
    return target, changed


def is_up_to_date(
    root: str | Path, runtime: str, pip: str = DEFAULT_PIP, extra_protected: Iterable[str] = ()
) -> bool:
    """Whether the committed ``init/<runtime>/enforce-lock.sh`` is what the lock renders to now.

    Writes nothing (``dbx-ops deps init-script --check`` in CI).

    Returns:
        True when the script exists and is byte-identical to a fresh rendering.

    Raises:
        NotFoundError: when the lock or the baseline is missing (saying how to create it).
        InvalidInputError: when they do not validate.
    """
    files = RuntimeFiles.of(root, runtime)
    text = _render_for(files, pip, extra_protected)
    return files.init_script.is_file() and files.init_script.read_text() == text
