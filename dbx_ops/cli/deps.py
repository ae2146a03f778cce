"""``dbx-ops deps capture|lock|init-script|audit`` and ``dbx-ops env check``."""

from __future__ import annotations

import argparse
from pathlib import Path

from dbx_ops.cli._common import add_json_flag, emit, to_json
from dbx_ops.errors import InvalidInputError


def _add_root(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--root",
        default=".",
        help="project folder holding requirements/ and init/ (default: the current folder)",
    )


def _add_runtime(p: argparse.ArgumentParser, allow_all: bool = True) -> None:
    p.add_argument("--runtime", metavar="KEY", help="runtime spark_version key, e.g. 15.4.x-cpu-ml-scala2.12")
    if allow_all:
        p.add_argument("--all", action="store_true", help="every runtime under requirements/")


def _add_protect(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--protect", action="append", default=[], metavar="NAME", help="never treat NAME as a stray (repeat)"
    )


def _add_markdown(p: argparse.ArgumentParser) -> None:
    p.add_argument("--markdown", action="store_true", help="print Markdown (CI job summaries)")


def _runtimes(args: argparse.Namespace) -> list[str]:
    from dbx_ops.deps.layout import known_runtimes

    if getattr(args, "all", False):
        found = known_runtimes(args.root)
        if not found:
            raise InvalidInputError(f"No runtime folders under {Path(args.root) / 'requirements'}.")
        return found
    if not args.runtime:
        raise InvalidInputError("Name the runtime with --runtime KEY (or --all).")
    return [args.runtime]


def register(subparsers: argparse._SubParsersAction) -> None:
    deps = subparsers.add_parser(
        "deps",
        help="runtime baselines, locks, init scripts and scans",
        description="Capture what a Databricks runtime ships, lock your additions against it, "
        "generate the init script that enforces the lock, and scan the lock.",
    )
    sub = deps.add_subparsers(dest="deps_command", metavar="COMMAND")
    deps.set_defaults(handler=lambda a: (deps.print_help(), 2)[1])

    cap = sub.add_parser(
        "capture",
        help="write requirements/<runtime>/runtime-baseline.in",
        description="On a cluster: capture every installed package with exact versions. Offline: "
        "import a published constraints.txt with --from-constraints.",
    )
    _add_runtime(cap, allow_all=False)
    _add_root(cap)
    cap.add_argument(
        "--from-constraints", metavar="FILE", help="import a published constraints.txt (offline)"
    )
    cap.add_argument("--source", help="where the constraints file comes from (written into the header)")
    cap.add_argument(
        "--allow-local",
        action="store_true",
        help="capture this interpreter although it is not a Databricks cluster",
    )
    add_json_flag(cap)
    cap.set_defaults(handler=run_capture)

    lock = sub.add_parser(
        "lock",
        help="resolve additional-packages.in against the baseline into requirements.txt",
        description="Resolve the additions with the runtime baseline as constraints (uv, for the "
        "runtime's Python and Linux). Exit 1 with the conflicts explained when they cannot be resolved.",
    )
    _add_runtime(lock)
    _add_root(lock)
    lock.add_argument("--exclude-newer", metavar="DATE", help="only releases before this UTC date")
    lock.add_argument("--upgrade", action="store_true", help="use today's date instead of the recorded one")
    lock.add_argument("--hashes", action="store_true", help="write sha256 hashes into the lock")
    lock.add_argument("--offline", action="store_true", help="resolve from uv's cache only (no network)")
    lock.add_argument(
        "--no-fit", action="store_true", help="do not look up the newest version that fits on conflict"
    )
    add_json_flag(lock)
    _add_markdown(lock)
    lock.set_defaults(handler=run_lock)

    init = sub.add_parser(
        "init-script",
        help="generate init/<runtime>/enforce-lock.sh from the lock",
        description="Render the cluster init script that installs exactly the lock and reports strays.",
    )
    _add_runtime(init)
    _add_root(init)
    init.add_argument(
        "--pip", default="/databricks/python/bin/pip", help="the cluster's pip (default: %(default)s)"
    )
    _add_protect(init)
    init.add_argument(
        "--check", action="store_true", help="write nothing; exit 1 when the committed script is out of date"
    )
    add_json_flag(init)
    init.set_defaults(handler=run_init_script)

    aud = sub.add_parser(
        "audit",
        help="scan a lock for CVEs (pip-audit) and denied licences (pip-licenses)",
        description="Exit 1 on a vulnerability or a denied licence; exit 2 when pins could not be audited.",
    )
    aud.add_argument("--lock", metavar="FILE", help="the lock file (or use --runtime)")
    _add_runtime(aud, allow_all=False)
    _add_root(aud)
    aud.add_argument(
        "--deny",
        default="GPL,LGPL",
        help="comma-separated licence deny list; GPL, LGPL, AGPL are families (default: %(default)s)",
    )
    aud.add_argument("--no-cves", action="store_true", help="skip pip-audit")
    aud.add_argument("--no-licences", action="store_true", help="skip the licence scan")
    add_json_flag(aud)
    _add_markdown(aud)
    aud.set_defaults(handler=run_audit)

    env = subparsers.add_parser("env", help="compare a Python environment with a lock")
    env_sub = env.add_subparsers(dest="env_command", metavar="COMMAND")
    env.set_defaults(handler=lambda a: (env.print_help(), 2)[1])
    chk = env_sub.add_parser(
        "check",
        help="missing, wrong-version and stray packages against a lock; exit 1 on drift",
        description="Compare the running interpreter (or --python) with a lock and its runtime baseline.",
    )
    chk.add_argument(
        "--lock", required=True, metavar="FILE", help="the lock, e.g. requirements/<rt>/requirements.txt"
    )
    chk.add_argument(
        "--baseline", metavar="FILE", help="the baseline (default: runtime-baseline.in next to the lock)"
    )
    chk.add_argument("--python", metavar="PATH", help="check this interpreter instead of the running one")
    chk.add_argument("--no-strays", action="store_true", help="do not report stray packages")
    _add_protect(chk)
    add_json_flag(chk)
    _add_markdown(chk)
    chk.add_argument("--html", action="store_true", help="print HTML")
    chk.set_defaults(handler=run_env_check)


def run_capture(args: argparse.Namespace) -> int:
    from dbx_ops.deps.baseline import capture_baseline, import_baseline
    from dbx_ops.deps.layout import RuntimeFiles
    from dbx_ops.runtime import is_databricks

    if not args.runtime:
        raise InvalidInputError(
            "Name the runtime with --runtime KEY (its spark_version, e.g. 15.4.x-scala2.12)."
        )
    files = RuntimeFiles.of(args.root, args.runtime)
    if args.from_constraints:
        source_file = Path(args.from_constraints)
        if not source_file.is_file():
            raise InvalidInputError(f"{source_file} does not exist.")
        from dbx_ops.clock import utc_now
        from dbx_ops.deps.layout import read_text

        today = utc_now().strftime("%Y-%m-%d")
        source = args.source or f"published constraints {source_file.name} (imported offline)"
        baseline = import_baseline(read_text(source_file), args.runtime, today, source)
        files.folder.mkdir(parents=True, exist_ok=True)
        files.baseline.write_text(baseline.render())
    else:
        if not is_databricks() and not args.allow_local:
            raise InvalidInputError(
                "This is not a Databricks cluster: run the capture_baseline notebook on the cluster, "
                "import a published baseline with --from-constraints FILE, or pass --allow-local."
            )
        baseline = capture_baseline(args.runtime, files.baseline)
    data = {
        "runtime": baseline.runtime,
        "python": baseline.python,
        "packages": len(baseline.pins),
        "path": str(files.baseline),
        "source": baseline.source,
    }
    emit(
        args,
        data,
        f"wrote {len(baseline.pins)} packages of {baseline.runtime} (Python {baseline.python}) "
        f"to {files.baseline}",
    )
    return 0


def run_lock(args: argparse.Namespace) -> int:
    from dbx_ops.deps.lock import Locker, LockOptions

    options = LockOptions(
        exclude_newer=args.exclude_newer,
        hashes=args.hashes,
        upgrade=args.upgrade,
        find_fits=not args.no_fit,
        offline=args.offline,
    )
    from dbx_ops.progress import NullProgress, auto_progress

    runtimes = _runtimes(args)
    progress = auto_progress() if len(runtimes) > 1 else NullProgress()
    results = Locker(args.root).lock_many(runtimes, options, progress)
    if args.markdown:
        print("\n\n".join(r.to_markdown() for r in results))
    elif args.json:
        print(to_json(results[0].to_dict() if len(results) == 1 else [r.to_dict() for r in results]))
    else:
        print("\n".join(r.to_text() for r in results))
    return 0 if all(r.ok for r in results) else 1


def run_init_script(args: argparse.Namespace) -> int:
    from dbx_ops.deps.baseline import runtime_for
    from dbx_ops.deps.initscript import is_up_to_date, write_init_script
    from dbx_ops.deps.layout import RuntimeFiles

    rows: list[dict[str, object]] = []
    stale = False
    for rt in _runtimes(args):
        files = RuntimeFiles.of(args.root, rt)
        if args.all and not runtime_for(rt).supports_init_scripts:
            rows.append({"runtime": rt, "path": "", "skipped": "serverless compute runs no init scripts"})
            continue
        if args.check:
            up_to_date = is_up_to_date(args.root, rt, args.pip, args.protect)
            stale = stale or not up_to_date
            rows.append({"runtime": rt, "path": str(files.init_script), "up_to_date": up_to_date})
        else:
            path, changed = write_init_script(args.root, rt, args.pip, args.protect)
            rows.append({"runtime": rt, "path": str(path), "changed": changed})

    def line(r: dict[str, object]) -> str:
        if r.get("skipped"):
            return f"{r['runtime']}: skipped ({r['skipped']})"
        if args.check:
            fix = "OUT OF DATE: run `dbx-ops deps init-script` to regenerate it"
            return f"{r['runtime']}: {r['path']} " + ("up to date" if r["up_to_date"] else fix)
        return f"{r['runtime']}: {'wrote' if r['changed'] else 'unchanged'} {r['path']}"

    def human() -> str:
        return "\n".join(line(r) for r in rows)

    emit(args, rows if len(rows) > 1 else rows[0], human)
    return 1 if stale else 0


def run_audit(args: argparse.Namespace) -> int:
    from dbx_ops.deps.audit import Auditor
    from dbx_ops.deps.layout import RuntimeFiles

    if args.lock:
        lock = Path(args.lock)
    elif args.runtime:
        lock = RuntimeFiles.of(args.root, args.runtime).lock
    else:
        raise InvalidInputError("Name the lock with --lock FILE or --runtime KEY.")
    deny = [d.strip() for d in args.deny.split(",") if d.strip()]
    report = Auditor().audit(lock, deny=deny, cves=not args.no_cves, licences=not args.no_licences)
    if args.markdown:
        print(report.to_markdown())
    else:
        emit(args, report.to_dict(), report.to_text)
    report.raise_on_failure()
    return 0


def run_env_check(args: argparse.Namespace) -> int:
    from dbx_ops.deps.envcheck import check_environment

    report = check_environment(
        args.lock, args.baseline, python=args.python, strays=not args.no_strays, protected=args.protect
    )
    if args.markdown:
        print(report.to_markdown())
    elif args.html:
        print(report.to_html())
    else:
        emit(args, report.to_dict(), report.to_text)
    report.raise_on_failure()
    return 0
