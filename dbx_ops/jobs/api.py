"""The thin, retrying edge between dbx_ops and the Jobs API.

The databricks-sdk already retries HTTP 429/503 (honouring ``Retry-After``) and
refused connections, within the client's retry budget (``DBX_OPS_RETRY_TIMEOUT``,
see :func:`dbx_ops.runtime.workspace_client`); :func:`call` adds bounded retries
for the other transient failures (500, 502, 504) within a total deadline
(:attr:`RetryPolicy.total_s`) and turns the SDK's errors into dbx_ops' own: a
missing job or run becomes :class:`~dbx_ops.errors.NotFoundError`, a workspace
that does not answer (the SDK's budget is spent) at once
:class:`~dbx_ops.errors.WorkspaceUnreachableError`, any other refusal
:class:`~dbx_ops.errors.WorkspaceError`, each with one sentence.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from dbx_ops.clock import Clock, utc_now
from dbx_ops.errors import InvalidInputError, NotFoundError, WorkspaceError

if TYPE_CHECKING:
    from databricks.sdk import WorkspaceClient
    from databricks.sdk.service.jobs import BaseJob, Job

logger = logging.getLogger(__name__)

T = TypeVar("T")

TRANSIENT_STATUS = frozenset({429, 500, 502, 503, 504})
TRANSIENT_ERROR_CODES = frozenset(
    {
        "INTERNAL_ERROR",
        "TEMPORARILY_UNAVAILABLE",
        "REQUEST_LIMIT_EXCEEDED",
        "DEADLINE_EXCEEDED",
        "BAD_GATEWAY",
    }
)


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently a transient workspace failure is retried.

    Attributes:
        attempts: total attempts per call (1 means no retry).
        base_delay: seconds before the first retry; doubled each time.
        max_delay: ceiling of one wait, in seconds.
        total_s: no retry starts after this many seconds since the first attempt.
    """

    attempts: int = 5
    base_delay: float = 0.5
    max_delay: float = 8.0
    total_s: float = 30.0


DEFAULT_RETRY = RetryPolicy()


def _status(exc: BaseException) -> int | None:
    from databricks.sdk.errors import DatabricksError

    if not isinstance(exc, DatabricksError):
        return None
    code = getattr(exc, "_status_code", None) or getattr(exc, "status_code", None)
    if isinstance(code, int):
        return code
    from databricks.sdk import errors

    for cls, status in (
        (errors.InternalError, 500),
        (errors.TemporarilyUnavailable, 503),
        (errors.TooManyRequests, 429),
        (errors.DeadlineExceeded, 504),
    ):
        if isinstance(exc, cls):
            return status
    return None


def is_unreachable(exc: BaseException) -> bool:
    """True when the workspace did not answer: refused, reset or timed-out connections.

    These reach dbx_ops only after the SDK has retried them for its whole budget, so they
    are not retried again.
    """
    import requests

    return isinstance(exc, requests.ConnectionError | requests.Timeout | TimeoutError | ConnectionError)


def is_transient(exc: BaseException) -> bool:
    """True for failures worth retrying: 429/5xx, timeouts, refused or reset connections."""
    import requests

    if isinstance(exc, requests.ConnectionError | requests.Timeout | TimeoutError | ConnectionError):
        return True
    if isinstance(exc, RuntimeError) and "retry" in str(exc).lower():
        return True
    if _status(exc) in TRANSIENT_STATUS:
        return True
    from databricks.sdk.errors import DatabricksError

    if isinstance(exc, DatabricksError):
        # A 502 (or another status the SDK has no class for) arrives as a plain DatabricksError.
        if getattr(exc, "error_code", None) in TRANSIENT_ERROR_CODES:
            return True
        text = str(exc).lower()
        return any(marker in text for marker in ("bad gateway", "gateway timeout", "service unavailable"))
    return False


def is_missing(exc: BaseException) -> bool:
    """True when the workspace says the job or run does not exist."""
    from databricks.sdk import errors

    if isinstance(exc, errors.NotFound | errors.ResourceDoesNotExist):
        return True
    return isinstance(exc, errors.InvalidParameterValue) and "does not exist" in str(exc)


def call(
    what: str,
    fn: Callable[..., T],
    *args: Any,
    retry: RetryPolicy = DEFAULT_RETRY,
    sleep: Callable[[float], None] = time.sleep,
    now: Clock = utc_now,
    **kwargs: Any,
) -> T:
    """Call a workspace API function with bounded retries and dbx_ops errors.

    Args:
        what: what the call does, for messages ("get job 42").
        fn: the SDK function.
        *args: its positional arguments.
        retry: the retry policy.
        sleep: the sleep function (tests hand in a fake clock).
        now: the clock the total deadline is measured on.
        **kwargs: its keyword arguments.

    Returns:
        Whatever ``fn`` returns.

    Raises:
        NotFoundError: the job or run does not exist.
        WorkspaceUnreachableError: the workspace did not answer.
        WorkspaceError: the workspace refused the request, or kept failing.
    """
    from databricks.sdk.errors import DatabricksError

    from dbx_ops.runtime import workspace_error

    delay = retry.base_delay
    started = now()
    for attempt in range(1, retry.attempts + 1):
        try:
            return fn(*args, **kwargs)
        except Exception as exc:
            if is_missing(exc):
                raise NotFoundError(f"Cannot {what}: {exc}") from exc
            if is_unreachable(exc):
                raise workspace_error(exc, f"trying to {what}") or WorkspaceError(str(exc)) from exc
            if is_transient(exc):
                if attempt == retry.attempts:
                    raise WorkspaceError(
                        f"Cannot {what}: the workspace kept failing after {attempt} attempts ({exc}); "
                        "nothing more was changed, run the command again when it is back."
                    ) from exc
                if (now() - started).total_seconds() + delay > retry.total_s:
                    raise WorkspaceError(
                        f"Cannot {what}: the workspace kept failing for {retry.total_s:g}s ({exc}); "
                        "nothing more was changed, run the command again when it is back."
                    ) from exc
                logger.warning(
                    "%s failed (%s); retry %d/%d in %.1fs", what, exc, attempt, retry.attempts - 1, delay
                )
                sleep(delay)
                delay = min(delay * 2, retry.max_delay)
                continue
            if isinstance(exc, DatabricksError):
                raise WorkspaceError(f"Cannot {what}: the workspace refused it ({exc}).") from exc
            raise
    raise AssertionError("unreachable")  # pragma: no cover


def job_ref(value: int | str) -> int | str:
    """A job reference from user input: an integer id, or a job name."""
    if isinstance(value, int):
        return value
    text = str(value).strip()
    if not text:
        raise InvalidInputError("A job reference is empty: give a job id or the job's exact name.")
    return int(text) if text.isdigit() else text


def get_job(ws: WorkspaceClient, ref: int | str, retry: RetryPolicy = DEFAULT_RETRY) -> Job:
    """The job with this id or exact name.

    Raises:
        NotFoundError: no such job, or the name is ambiguous.
    """
    ref = job_ref(ref)
    if isinstance(ref, int):
        try:
            return call(f"get job {ref}", ws.jobs.get, retry=retry, job_id=ref)
        except NotFoundError:
            raise NotFoundError(
                f"Job {ref} does not exist in this workspace: check the id with 'databricks jobs list'."
            ) from None
    matches = find_jobs_by_name(ws, ref, retry)
    if not matches:
        raise NotFoundError(
            f"No job is named {ref!r} in this workspace: check the name with 'databricks jobs list'."
        )
    if len(matches) > 1:
        ids = ", ".join(str(j.job_id) for j in matches)
        raise NotFoundError(f"{len(matches)} jobs are named {ref!r} (ids {ids}): give the job id instead.")
    return get_job(ws, int(matches[0].job_id or 0), retry)


def find_jobs_by_name(ws: WorkspaceClient, name: str, retry: RetryPolicy = DEFAULT_RETRY) -> list[BaseJob]:
    """Every job whose name is exactly ``name``."""

    def _list() -> list[BaseJob]:
        return [j for j in ws.jobs.list(name=name) if j.settings is not None and j.settings.name == name]

    return call(f"list jobs named {name!r}", _list, retry=retry)


def list_all_jobs(ws: WorkspaceClient, retry: RetryPolicy = DEFAULT_RETRY) -> list[BaseJob]:
    """Every job in the workspace."""
    return call("list jobs", lambda: list(ws.jobs.list()), retry=retry)


def active_runs(ws: WorkspaceClient, job_id: int, retry: RetryPolicy = DEFAULT_RETRY) -> list[int]:
    """Run ids of the job's active (pending, queued, running, terminating) runs."""
    return call(
        f"list active runs of job {job_id}",
        lambda: [int(r.run_id or 0) for r in ws.jobs.list_runs(job_id=job_id, active_only=True)],
        retry=retry,
    )


def unique(values: Iterable[T]) -> list[T]:
    """The values in order, without repeats."""
    seen: list[T] = []
    for v in values:
        if v not in seen:
            seen.append(v)
    return seen
