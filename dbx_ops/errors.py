"""One error hierarchy for dbx_ops.

Every error the library raises on purpose is a :class:`DbxOpsError`. Each
carries the process exit code the CLI uses for it (0 ok, 1 a check said no,
2 bad input or environment) and a message that is one sentence saying what
went wrong and how to fix it.
"""

from __future__ import annotations


class DbxOpsError(Exception):
    """Base class of every error dbx_ops raises on purpose.

    Attributes:
        exit_code: the CLI exit code for this error (2: bad input or environment).
    """

    exit_code = 2


class InvalidInputError(DbxOpsError, ValueError):
    """The user gave input that cannot be used (a name, a spec, a rules file)."""


class InvalidTableNameError(InvalidInputError):
    """A table name is malformed or could inject SQL."""


class EnvironmentSetupError(DbxOpsError):
    """The local environment is missing something (JARs, Java, a binary)."""


class NotFoundError(DbxOpsError, LookupError):
    """A named thing (snapshot label, job, table, backup) does not exist."""


class CheckFailedError(DbxOpsError):
    """A check ran and said no: no-go, drift, conflict, unhealthy job."""

    exit_code = 1


class SnapshotError(DbxOpsError):
    """A snapshot cannot be taken or is no longer usable."""


class RestoreError(DbxOpsError):
    """A restore was refused or failed; the message says what state the table is in."""


class ConcurrentModificationError(RestoreError):
    """Another writer kept committing to the table; the operation gave up untouched."""


class ValidationRuleError(InvalidInputError):
    """A validation rule or rules file is malformed."""


class DependencyError(DbxOpsError):
    """Dependency locking or checking could not run."""


class LockConflictError(CheckFailedError):
    """The requested packages cannot be resolved against the runtime baseline."""


class WorkspaceError(DbxOpsError):
    """The Databricks workspace API refused or failed a request."""


class ValidationFailedError(CheckFailedError):
    """A validation ran and a fail-severity rule broke (drift, row loss, schema change)."""


class EnvironmentDriftError(CheckFailedError):
    """The cluster's packages do not match the pinned lock."""


class UnhealthyJobError(CheckFailedError):
    """A job's health check raised a P1 alert."""


class DeployFailedError(CheckFailedError):
    """A deployment did not go live (failed smoke or canary run, refused pre-check)."""


class NoGoError(CheckFailedError):
    """A checklist gate said no-go."""


class DoctorError(CheckFailedError):
    """``dbx-ops doctor`` found a problem with a working environment."""


class DrillFailedError(CheckFailedError):
    """A rollback drill step could not prove recovery."""


class WorkspaceUnreachableError(WorkspaceError):
    """The workspace did not answer within the configured time; nothing was changed by this call."""


class StateConflictError(DbxOpsError):
    """Concurrent writers to a state table kept conflicting; retry the operation."""


class AuditFailedError(CheckFailedError):
    """A dependency scan found a known vulnerability or a denied licence in a lock."""


class NotebookFailedError(CheckFailedError):
    """A locally run notebook raised in one of its cells (``dbx-ops notebook run`` exit 1)."""


class ChecklistRefusedError(DbxOpsError):
    """A checklist action was refused (group, four eyes, waiver without reason); nothing was recorded."""


class TemplateError(InvalidInputError):
    """A checklist template does not follow the schema; the message lists ``file:line: problem`` entries."""
