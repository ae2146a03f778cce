"""Issue 11: dependency locks on real requirement files (each test written before its fix)."""

import subprocess
import time
from pathlib import Path

import pytest

from dbx_ops.cli import main
from dbx_ops.deps.baseline import Baseline, import_baseline, parse_baseline
from dbx_ops.deps.initscript import build_spec
from dbx_ops.deps.lock import UV_VERSION, Locker, LockFile, LockOptions
from dbx_ops.deps.requirements import Pin, parse_additions
from dbx_ops.errors import DependencyError, InvalidInputError

REPO = Path(__file__).resolve().parents[2]
DATA = Path(__file__).parent / "data"
ML = "15.4.x-cpu-ml-scala2.12"
STD = "15.4.x-scala2.12"
H = "sha256:" + "a" * 64


class ScriptedUv:
    """Stands in for uv: answers each compile with the next scripted (returncode, stdout, stderr)."""

    def __init__(self, answers):
        self.answers = list(answers)
        self.calls = []

    def __call__(self, args, cwd, **kwargs):
        if "--version" in args:
            return subprocess.CompletedProcess(args, 0, f"uv {UV_VERSION}\n", "")
        self.calls.append((list(args), Path(cwd, args[args.index("compile") + 1]).read_text()))
        code, out, err = self.answers.pop(0) if self.answers else (0, "", "")
        return subprocess.CompletedProcess(args, code, out, err)


def project(tmp_path: Path, runtime: str, additions: str, baseline: str | None = None) -> Path:
    folder = tmp_path / "requirements" / runtime
    folder.mkdir(parents=True)
    text = (
        baseline
        if baseline is not None
        else (REPO / "requirements" / runtime / "runtime-baseline.in").read_text()
    )
    (folder / "runtime-baseline.in").write_text(text)
    (folder / "additional-packages.in").write_text(additions)
    return tmp_path


# -- packages the runtime injects ---------------------------------------------------------------


@pytest.mark.parametrize(
    "line", ["pyspark==3.5.1", "py4j", "databricks-connect>=15,<16", "PySpark[sql]>=3.5"]
)
def test_packages_the_runtime_injects_are_refused_as_additions(line):
    with pytest.raises(InvalidInputError) as err:
        parse_additions(f"six\n{line}\n")
    message = str(err.value)
    assert "additional-packages.in:2" in message
    assert "the Databricks runtime provides" in message and "never locked or installed" in message


def test_injected_packages_are_never_emitted_into_a_lock(tmp_path):
    root = project(tmp_path, ML, "chispa\n")
    uv = ScriptedUv([(0, "chispa==0.11.1\n", "")])
    Locker(root, runner=uv).lock(ML, LockOptions(exclude_newer="2026-11-01"))
    args = uv.calls[0][0]
    emitted = {args[i + 1] for i, a in enumerate(args) if a == "--no-emit-package"}
    assert {"pyspark", "py4j", "databricks-connect"} <= emitted


def test_an_init_script_never_installs_an_injected_package():
    lock = LockFile(
        Path("requirements/x/requirements.txt"), STD, "15.4", "3.11", (Pin("pyspark", "3.5.1"),), "f" * 64
    )
    base = Baseline(STD, "3.11", "d", "s", (Pin("six", "1.16.0"),))
    with pytest.raises(InvalidInputError, match=r"pyspark.*the Databricks runtime provides"):
        build_spec(lock, base, "requirements/x/requirements.txt")


# -- real-world requirement lines ------------------------------------------------------------------


def test_a_utf8_bom_and_backslash_continuations_and_hashes_are_handled():
    text = "\ufeffchispa==0.11.1 \\\n    --hash=" + H + "\nsix>=1.16 \\\n  ,<2\n"
    adds = parse_additions(text)
    assert [(a.name, a.line) for a in adds] == [("chispa", 1), ("six", 3)]
    assert adds[0].text() == "chispa==0.11.1" and adds[1].text() == "six<2,>=1.16"


@pytest.mark.parametrize(
    ("line", "words"),
    [
        ("git+https://github.com/MrPowers/chispa.git@v0.11.1#egg=chispa", "chispa comes from a URL"),
        ("https://example.com/pkgs/chispa-0.11.1-py3-none-any.whl", "comes from a URL"),
        ("./libs/mylib", "is a local path"),
        ("six==1.16.0 --hash=md5:abc", "not a sha256 hash"),
        (
            "six==1.16.0 --install-option=--prefix=/x",
            "option '--install-option=--prefix=/x' is not supported",
        ),
    ],
)
def test_real_world_lines_are_refused_with_the_line_number_and_one_sentence(line, words):
    with pytest.raises(InvalidInputError) as err:
        parse_additions(f"six\n{line}\n".replace("six\nsix", "idna\nsix"))
    message = str(err.value)
    assert "additional-packages.in:2" in message and words in message
    assert "\n" not in message and "Expected" not in message  # no raw parser text


def test_every_bad_line_is_reported_not_only_the_first():
    text = "numpy>>2\nsix\npyspark==3.5.1\ngit+https://x.example/y.git#egg=y\npandas==\n"
    with pytest.raises(InvalidInputError) as err:
        parse_additions(text)
    message = str(err.value)
    for number in (1, 3, 4, 5):
        assert f"additional-packages.in:{number}:" in message
    assert "additional-packages.in:2:" not in message
    assert message.startswith("4 lines of additional-packages.in cannot be used")
    assert "\n" not in message


def test_a_100000_character_line_is_refused_at_once(tmp_path, capsys):
    root = project(tmp_path, STD, "a" * 100_000 + "\n")
    started = time.monotonic()
    assert main(["deps", "lock", "--runtime", STD, "--root", str(root), "--offline"]) == 2
    assert time.monotonic() - started < 10
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "100000 characters" in err and len(err) < 400


def test_resolver_text_with_a_huge_token_is_read_in_linear_time():
    from dbx_ops.deps.conflicts import parse_conflicts, parse_failures

    name = "a" * 100_000
    text = f"  cause: Because {name} was not found in the cache and you require {name}, we can conclude.\n"
    started = time.monotonic()
    parse_conflicts(text, {name: name}, {"six": "1.16.0"})
    parse_failures(text)
    assert time.monotonic() - started < 2


# -- baselines ---------------------------------------------------------------------------------


def test_capture_from_an_empty_constraints_file_writes_nothing(tmp_path, capsys):
    empty = tmp_path / "constraints.txt"
    empty.write_text("# constraints.txt file for Databricks Runtime 15.4 LTS\n\n")
    args = ["deps", "capture", "--runtime", STD, "--root", str(tmp_path), "--from-constraints", str(empty)]
    assert main(args) == 2
    assert "has no packages" in capsys.readouterr().err
    assert not (tmp_path / "requirements" / STD / "runtime-baseline.in").exists()
    with pytest.raises(InvalidInputError, match="has no packages"):
        import_baseline("", STD, "2026-11-22", "t")


def test_a_constraints_file_with_a_bom_imports():
    base = import_baseline("\ufeff# title\nsix~=1.16.0\n", STD, "2026-11-22", "t")
    assert [p.text() for p in base.pins] == ["six==1.16.0"]


def test_the_masked_packages_of_a_published_baseline_are_known():
    base = parse_baseline((REPO / "requirements" / STD / "runtime-baseline.in").read_text())
    assert base.masked() == {"databricks-sdk": "0.20.0"}


def test_a_lock_that_downgrades_a_masked_runtime_package_warns(tmp_path, capsys):
    root = project(tmp_path, STD, "databricks-sdk<0.20\n")
    uv = ScriptedUv([(0, "databricks-sdk==0.19.1\nsix==1.16.0\n", "")])
    result = Locker(root, runner=uv).lock(STD, LockOptions(exclude_newer="2026-11-01"))
    assert result.ok and len(result.warnings) == 1
    warning = result.warnings[0]
    assert "downgrades databricks-sdk from 0.20.0" in warning and "0.19.1" in warning
    assert "masks" in warning
    assert warning in result.to_text() and result.to_dict()["warnings"] == [warning]
    uv = ScriptedUv([(0, "databricks-sdk==0.49.0\n", "")])
    assert Locker(root, runner=uv).lock(STD, LockOptions(exclude_newer="2026-11-01")).warnings == ()


# -- conflict reports --------------------------------------------------------------------------

BASE_NP = Baseline(
    ML,
    "3.11",
    "d",
    "s",
    (*(Pin(f"dep{i}", "1.0") for i in range(8)), Pin("numpy", "1.23.5"), Pin("pandas", "1.5.3")),
).render()


def direct(name: str, want: str, have: str) -> str:
    return (
        f"  cause: Because you require {name}=={want} and {name}=={have}, we can conclude that your "
        "requirements are unsatisfiable.\n"
    )


def test_every_conflict_is_reported_past_five(tmp_path):
    names = [f"dep{i}" for i in range(7)]
    additions = "".join(f"{n}==2.0\n" for n in names) + "numpy==2.0.0\npandas==2.2.0\nsix\n"
    root = project(tmp_path, ML, additions, BASE_NP)
    rounds = [(1, "", direct(n, "2.0", "1.0")) for n in names]
    rounds += [(1, "", direct("numpy", "2.0.0", "1.23.5")), (1, "", direct("pandas", "2.2.0", "1.5.3"))]
    uv = ScriptedUv([*rounds, (0, "six==1.16.0\n", "")])
    result = Locker(root, runner=uv).lock(ML, LockOptions(exclude_newer="2026-11-01", find_fits=False))
    assert {c.package for c in result.conflicts} == {*names, "numpy", "pandas"}
    assert result.complete and "partial" not in result.to_text()


def test_a_last_round_that_is_not_a_conflict_is_reported(tmp_path):
    root = project(tmp_path, ML, "numpy==2.0.0\nnopkg-xyz\n", BASE_NP)
    not_found = (
        "  cause: Because nopkg-xyz was not found in the package registry and you require nopkg-xyz, "
        "we can conclude that your requirements are unsatisfiable.\n"
    )
    uv = ScriptedUv([(1, "", direct("numpy", "2.0.0", "1.23.5")), (1, "", not_found)])
    result = Locker(root, runner=uv).lock(ML, LockOptions(exclude_newer="2026-11-01", find_fits=False))
    assert [c.package for c in result.conflicts] == ["numpy"]
    assert not result.complete
    text = result.to_text()
    assert "partial" in text and "nopkg-xyz is not on the package index" in text
    assert "nopkg-xyz" in result.to_dict()["unexplained"]


def test_a_package_blocked_twice_names_every_blocker(tmp_path):
    root = project(tmp_path, ML, "mlflow>=3.1\n")
    uv = ScriptedUv([(1, "", (DATA / "uv-mlflow-15.4-ml.txt").read_text())])
    result = Locker(root, runner=uv).lock(ML, LockOptions(exclude_newer="2026-11-01", find_fits=False))
    assert {(c.package, c.blocker) for c in result.conflicts} == {
        ("mlflow", "cryptography"),
        ("mlflow", "mlflow-skinny"),
    }
    text = result.to_text()
    assert "cryptography==41.0.3" in text and "mlflow-skinny==2.19.0" in text


def test_a_baseline_pin_the_index_does_not_serve_is_blamed_on_the_baseline(tmp_path, capsys):
    root = project(tmp_path, ML, "pytorch-lightning==2.4.0\n")
    uv = ScriptedUv([(1, "", (DATA / "uv-torch-cpu-15.4-ml.txt").read_text())])
    with pytest.raises(DependencyError) as err:
        Locker(root, runner=uv).lock(ML, LockOptions(exclude_newer="2026-11-01"))
    message = str(err.value)
    assert not message.startswith(str(root / "requirements" / ML / "additional-packages.in"))
    assert "the runtime baseline pins torch==2.3.1+cpu" in message
    assert "download.pytorch.org" in message and "UV_EXTRA_INDEX_URL" in message
    assert "pytorch-lightning" in message and "\n" not in message
