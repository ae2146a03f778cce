"""Checklist templates in YAML: the shipped ones, users' own, ``extends:``, a schema check with line numbers.

A template file::

    name: team-deploy
    version: "1"
    title: Team deploy checklist
    extends: prod-deploy          # optional: add items to a shipped template
    stale_after: 12h              # verifier results older than this are stale
    roles:
      Tech Lead: {group: tech-leads, may_waive: true}
    signoff: [Tech Lead]
    stages:
      - {id: dev, title: Development, criteria: [All tests pass], signoff: [Developer]}
    phases:
      - name: Team checks
        stage: dev                # optional
        items:
          - id: team.dashboards
            text: Team dashboard shows the new job
            owner: Tech Lead
            verifier: jobs_healthy   # optional
            params: {jobs: "{jobs}"}

Every problem is reported as ``file:line: what is wrong`` in one
:class:`~dbx_ops.errors.TemplateError`.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from dbx_ops.checklists.model import Item, Role, Stage, Template
from dbx_ops.errors import NotFoundError, TemplateError

ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")
_DURATION_RE = re.compile(r"^\s*(\d+)\s*([smhd]?)\s*$")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}

TOP_KEYS = {
    "name",
    "version",
    "title",
    "description",
    "extends",
    "stale_after",
    "roles",
    "signoff",
    "stages",
    "phases",
    "messages",
    "outlines",
    "approval_required",
}
ITEM_KEYS = {"id", "text", "required", "owner", "verifier", "params", "help", "stage"}


@dataclass
class _Doc:
    """A YAML document as Python values, with the line of every path."""

    source: str
    data: Any
    lines: dict[tuple[Any, ...], int] = field(default_factory=dict)

    def line(self, path: tuple[Any, ...]) -> int:
        while path and path not in self.lines:
            path = path[:-1]
        return self.lines.get(path, 1)


def _to_python(node: yaml.Node, path: tuple[Any, ...], lines: dict[tuple[Any, ...], int]) -> Any:
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = (
                yaml.safe_load(yaml.serialize(key_node))
                if not isinstance(key_node, yaml.ScalarNode)
                else key_node.value
            )
            out[key] = _to_python(value_node, (*path, key), lines)
            lines[(*path, key)] = key_node.start_mark.line + 1
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_to_python(v, (*path, i), lines) for i, v in enumerate(node.value)]
    # scalars: let the safe loader resolve the tag (bool, int, null, str)
    return yaml.safe_load(yaml.serialize(node))


def parse_yaml(text: str, source: str) -> _Doc:
    """Parse YAML keeping each path's line number; a syntax error names file and line."""
    lines: dict[tuple[Any, ...], int] = {}
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        # Each node is loaded again on its own, which can fail on what compose let through.
        data = _to_python(node, (), lines) if node is not None else None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 1
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise TemplateError(f"{source}:{line}: not valid YAML: {problem}.") from None
    return _Doc(source=source, data=data, lines=lines)


def parse_duration(value: Any) -> int | None:
    """Seconds from ``3600``, ``90m``, ``12h`` or ``1d``; None when unreadable."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value > 0 else None
    match = _DURATION_RE.match(str(value))
    if not match:
        return None
    return int(match.group(1)) * _UNITS[match.group(2)]


class _Checker:
    def __init__(self, doc: _Doc) -> None:
        self.doc = doc
        self.errors: list[str] = []

    def error(self, path: tuple[Any, ...], message: str) -> None:
        self.errors.append(f"{self.doc.source}:{self.doc.line(path)}: {message}")


def _check(doc: _Doc, base: Template | None) -> list[str]:
    """Schema problems of a template document, as ``file:line: problem`` lines."""
    c = _Checker(doc)
    data = doc.data
    if not isinstance(data, dict):
        c.error((), "a template is a mapping with name, version, title and phases.")
        return c.errors
    for key in data:
        if key not in TOP_KEYS:
            c.error((key,), f"unknown key {key!r} (known: {', '.join(sorted(TOP_KEYS))}).")
    for key in ("name", "version"):
        if not isinstance(data.get(key), str | int | float) or isinstance(data.get(key), bool):
            c.error((key,), f"{key!r} is required and must be text.")
    if base is None and not isinstance(data.get("title"), str):
        c.error(("title",), "'title' is required and must be text.")
    if "stale_after" in data and parse_duration(data["stale_after"]) is None:
        c.error(("stale_after",), "'stale_after' must be seconds or a duration like 90m, 12h, 1d.")
    roles = data.get("roles", {})
    role_names = {r.lower() for r in (base.roles if base else {})}
    if not isinstance(roles, dict):
        c.error(("roles",), "'roles' must map role names to {group, may_waive}.")
        roles = {}
    for name, spec in roles.items():
        role_names.add(str(name).lower())
        if spec is None:
            continue
        if not isinstance(spec, dict):
            c.error(("roles", name), f"role {name!r} must be a mapping with group and may_waive.")
            continue
        for key in spec:
            if key not in ("group", "may_waive"):
                c.error(("roles", name, key), f"unknown role key {key!r} (known: group, may_waive).")
        if "may_waive" in spec and not isinstance(spec["may_waive"], bool):
            c.error(("roles", name, "may_waive"), "'may_waive' must be true or false.")
    stage_ids = {s.id for s in (base.stages if base else ())}
    stages = data.get("stages", [])
    if not isinstance(stages, list):
        c.error(("stages",), "'stages' must be a list.")
        stages = []
    for i, st in enumerate(stages):
        if not isinstance(st, dict) or not isinstance(st.get("id"), str) or not ID_RE.match(st.get("id", "")):
            c.error(("stages", i), "each stage needs an 'id' (letters, digits, '.', '_', '-').")
            continue
        if st["id"] in stage_ids:
            c.error(("stages", i, "id"), f"stage {st['id']!r} is defined twice.")
        stage_ids.add(st["id"])
        for j, role in enumerate(st.get("signoff") or []):
            if str(role).lower() not in role_names:
                c.error(("stages", i, "signoff", j), f"sign-off role {role!r} is not defined under 'roles'.")
    for j, role in enumerate(data.get("signoff") or []):
        if str(role).lower() not in role_names:
            c.error(("signoff", j), f"sign-off role {role!r} is not defined under 'roles'.")
    phases = data.get("phases", [])
    if not isinstance(phases, list) or (not phases and base is None):
        c.error(("phases",), "'phases' must be a non-empty list of {name, items}.")
        phases = phases if isinstance(phases, list) else []
    seen = {i.id for i in (base.items if base else ())}
    from dbx_ops.checklists.verifiers import VERIFIERS

    for p, phase in enumerate(phases):
        if not isinstance(phase, dict) or not isinstance(phase.get("name"), str):
            c.error(("phases", p), "each phase needs a 'name' and 'items'.")
            continue
        if phase.get("stage") is not None and phase.get("stage") not in stage_ids:
            c.error(("phases", p, "stage"), f"stage {phase.get('stage')!r} is not defined under 'stages'.")
        items = phase.get("items")
        if not isinstance(items, list) or not items:
            c.error(("phases", p, "items"), f"phase {phase['name']!r} needs a non-empty 'items' list.")
            continue
        for n, item in enumerate(items):
            path = ("phases", p, "items", n)
            if not isinstance(item, dict):
                c.error(path, "an item is a mapping with id and text.")
                continue
            for key in item:
                if key not in ITEM_KEYS:
                    c.error(
                        (*path, key), f"unknown item key {key!r} (known: {', '.join(sorted(ITEM_KEYS))})."
                    )
            item_id = item.get("id")
            if not isinstance(item_id, str) or not ID_RE.match(item_id):
                c.error((*path, "id"), "item 'id' is required (letters, digits, '.', '_', '-').")
            elif item_id in seen:
                c.error((*path, "id"), f"item id {item_id!r} is used twice.")
            else:
                seen.add(item_id)
            if not isinstance(item.get("text"), str) or not item["text"].strip():
                c.error((*path, "text"), f"item {item_id!r} needs a 'text'.")
            if "required" in item and not isinstance(item["required"], bool):
                c.error((*path, "required"), "'required' must be true or false.")
            owner = item.get("owner")
            if owner is not None and str(owner).lower() not in role_names:
                c.error((*path, "owner"), f"owner role {owner!r} is not defined under 'roles'.")
            verifier = item.get("verifier")
            if verifier is not None and verifier not in VERIFIERS:
                c.error(
                    (*path, "verifier"), f"unknown verifier {verifier!r} (see `dbx-ops checklist verifiers`)."
                )
            if "params" in item and not isinstance(item["params"], dict):
                c.error((*path, "params"), "'params' must be a mapping.")
            if item.get("stage") is not None and item.get("stage") not in stage_ids:
                c.error((*path, "stage"), f"stage {item.get('stage')!r} is not defined under 'stages'.")
    for key in ("messages", "approval_required"):
        if key in data and not isinstance(data[key], dict):
            c.error((key,), f"{key!r} must be a mapping.")
    outlines = data.get("outlines", {})
    if not isinstance(outlines, dict) or not all(isinstance(v, list) for v in outlines.values()):
        c.error(("outlines",), "'outlines' must map names to lists of headings.")
    return c.errors


def _canonical_hash(data: Mapping[str, Any]) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode("utf-8")).hexdigest()


def _build(data: dict[str, Any], source: str, base: Template | None) -> Template:
    roles: dict[str, Role] = dict(base.roles) if base else {}
    for name, spec in (data.get("roles") or {}).items():
        spec = spec or {}
        roles[str(name)] = Role(
            name=str(name), group=spec.get("group"), may_waive=bool(spec.get("may_waive", False))
        )
    stages = list(base.stages) if base else []
    for st in data.get("stages") or []:
        stages.append(
            Stage(
                id=st["id"],
                title=str(st.get("title") or st["id"]),
                criteria=tuple(str(x) for x in st.get("criteria") or ()),
                signoff=tuple(str(x) for x in st.get("signoff") or ()),
            )
        )
    items = list(base.items) if base else []
    for phase in data.get("phases") or []:
        for item in phase["items"]:
            items.append(
                Item(
                    id=item["id"],
                    text=str(item["text"]).strip(),
                    phase=str(phase["name"]),
                    stage=item.get("stage", phase.get("stage")),
                    required=bool(item.get("required", True)),
                    owner=item.get("owner"),
                    verifier=item.get("verifier"),
                    params=dict(item.get("params") or {}),
                    help=str(item.get("help") or "").strip(),
                )
            )
    signoff = tuple(str(x) for x in data.get("signoff") or (base.signoff if base else ()))
    stale = parse_duration(data.get("stale_after")) if "stale_after" in data else None
    merged = {
        **({"base": base.content_hash} if base else {}),
        **data,
    }
    return Template(
        name=str(data["name"]),
        version=str(data["version"]),
        title=str(data.get("title") or (base.title if base else data["name"])),
        description=str(data.get("description") or (base.description if base else "")).strip(),
        items=tuple(items),
        stages=tuple(stages),
        roles=roles,
        signoff=signoff,
        stale_after_seconds=stale or (base.stale_after_seconds if base else 24 * 3600),
        messages={
            **(base.messages if base else {}),
            **{str(k): str(v) for k, v in (data.get("messages") or {}).items()},
        },
        outlines={
            **(base.outlines if base else {}),
            **{str(k): tuple(str(x) for x in v) for k, v in (data.get("outlines") or {}).items()},
        },
        approval_required={
            **(base.approval_required if base else {}),
            **{str(k).lower(): bool(v) for k, v in (data.get("approval_required") or {}).items()},
        },
        source=source,
        content_hash=_canonical_hash(merged),
    )


def shipped_names() -> list[str]:
    """Names of the templates shipped in the package."""
    folder = resources.files("dbx_ops.checklists") / "templates"
    return sorted(p.name.rsplit(".", 1)[0] for p in folder.iterdir() if p.name.endswith((".yml", ".yaml")))


class TemplateLibrary:
    """Finds templates: the shipped ones, then users' folders (later folders win).

    Args:
        paths: folders (or files) with user templates; default: ``DBX_OPS_CHECKLISTS``
            (``os.pathsep``-separated) when ``env`` names it.
        env: environment mapping (defaults to none: only shipped templates and ``paths``).
    """

    def __init__(self, paths: Sequence[str | Path] = (), env: Mapping[str, str] | None = None) -> None:
        folders = [Path(p) for p in paths]
        if env is not None and env.get("DBX_OPS_CHECKLISTS"):
            folders += [Path(p) for p in env["DBX_OPS_CHECKLISTS"].split(os.pathsep) if p]
        self.paths = folders
        self._cache: dict[str, Template] = {}

    def _user_files(self) -> dict[str, Path]:
        found: dict[str, Path] = {}
        for folder in self.paths:
            files = [folder] if folder.is_file() else sorted(folder.glob("*.y*ml")) if folder.is_dir() else []
            for path in files:
                try:
                    head = yaml.safe_load(path.read_text(encoding="utf-8"))
                except yaml.YAMLError:
                    head = None
                name = head.get("name") if isinstance(head, dict) else None
                found[str(name or path.stem)] = path
        return found

    def names(self) -> list[str]:
        """Every template name known."""
        return sorted({*shipped_names(), *self._user_files()})

    def get(self, name: str) -> Template:
        """The named template; :class:`~dbx_ops.errors.NotFoundError` when unknown."""
        if name in self._cache:
            return self._cache[name]
        user = self._user_files()
        if name in user:
            template = self.load_file(user[name])
        elif name in shipped_names():
            folder = resources.files("dbx_ops.checklists") / "templates"
            text = (folder / f"{name}.yml").read_text(encoding="utf-8")
            template = self.load_text(text, f"dbx_ops/checklists/templates/{name}.yml")
        else:
            raise NotFoundError(f"No checklist template {name!r}: known are {', '.join(self.names())}.")
        self._cache[name] = template
        return template

    def load_file(self, path: str | Path) -> Template:
        """Load and check a template file."""
        p = Path(path)
        try:
            text = p.read_text(encoding="utf-8")
        except OSError as exc:
            raise TemplateError(f"{p}: cannot read the template ({exc.strerror}).") from None
        return self.load_text(text, str(p))

    def load_text(self, text: str, source: str = "<template>") -> Template:
        """Load and check template YAML text; ``source`` names it in errors."""
        doc = parse_yaml(text, source)
        base: Template | None = None
        data = doc.data
        if isinstance(data, dict) and data.get("extends") is not None:
            parent = str(data["extends"])
            if parent == data.get("name"):
                raise TemplateError(f"{source}:{doc.line(('extends',))}: a template cannot extend itself.")
            try:
                base = self.get(parent)
            except NotFoundError:
                raise TemplateError(
                    f"{source}:{doc.line(('extends',))}: extends unknown template {parent!r}."
                ) from None
        errors = _check(doc, base)
        if errors:
            raise TemplateError("; ".join(e.rstrip(".") for e in errors) + ".")
        return _build(data, source, base)


def load_template(name_or_path: str | Path, paths: Sequence[str | Path] = ()) -> Template:
    """A shipped or user template by name, or a template file by path."""
    library = TemplateLibrary(paths)
    p = Path(name_or_path)
    if p.suffix in (".yml", ".yaml") and p.exists():
        return library.load_file(p)
    return library.get(str(name_or_path))
