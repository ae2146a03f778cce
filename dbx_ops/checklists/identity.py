"""Who is acting: the person from the platform, and the groups they belong to.

Inside Databricks the person is the current user (``current_user()``);
locally the OS user, or whoever ``--as`` names. Group membership comes from
the workspace's SCIM ``Me`` endpoint (``ws.current_user.me().groups``); a
test hands in any callable returning group names.
"""

from __future__ import annotations

import getpass
import logging
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

logger = logging.getLogger(__name__)

#: Returns the acting person's group names (display names).
GroupsProvider = Callable[[], Iterable[str]]


@dataclass(frozen=True)
class Actor:
    """The person acting, and how to learn their groups.

    Attributes:
        name: user name / e-mail recorded on every event.
        groups: membership provider (None: unknown, so group-bound roles are refused).
    """

    name: str
    groups: GroupsProvider | None = None

    def group_names(self) -> frozenset[str] | None:
        """The actor's groups (None when no provider is known)."""
        if self.groups is None:
            return None
        return frozenset(str(g) for g in self.groups())


def scim_groups(ws: Any) -> GroupsProvider:
    """A provider reading ``ws.current_user.me().groups`` (display names) once, on first use."""
    cache: list[frozenset[str]] = []

    def provider() -> frozenset[str]:
        if not cache:
            me = ws.current_user.me()
            names = {str(g.display or g.value or "") for g in (me.groups or [])}
            names.discard("")
            cache.append(frozenset(names))
        return cache[0]

    return provider


def scim_user(ws: Any) -> str:
    """The workspace user name from SCIM Me."""
    me = ws.current_user.me()
    return str(me.user_name or me.display_name or me.id)


def detect_actor(
    spark: Any = None,
    ws: Any = None,
    as_user: str | None = None,
    env: Mapping[str, str] | None = None,
) -> Actor:
    """The acting person.

    Args:
        spark: inside Databricks, ``current_user()`` names the person.
        ws: a workspace client; its SCIM Me groups decide group-bound roles.
        as_user: an explicit person (local CLI ``--as-user``); wins over the platform.
        env: environment (``USER`` / ``DBX_OPS_ACTOR``); defaults to ``os.environ``.

    Returns:
        The :class:`Actor`.
    """
    environ = os.environ if env is None else env
    name = as_user or environ.get("DBX_OPS_ACTOR")
    if not name and spark is not None:
        from dbx_ops.runtime import current_user

        name = current_user(spark)
    if not name and ws is not None:
        try:
            name = scim_user(ws)
        except Exception:
            logger.debug("SCIM Me not available", exc_info=True)
    if not name:
        name = environ.get("USER") or _os_user()
    return Actor(name=name, groups=scim_groups(ws) if ws is not None else None)


def _os_user() -> str:
    try:
        return getpass.getuser()
    except Exception:
        return "unknown"
