"""The interactive checklist for Databricks and Jupyter notebooks, with core ipywidgets only.

In a notebook::

    from dbx_ops.checklists import checklist
    ui = checklist("prod-deploy", run="deploy-2026-12-02", spark=spark, context={"target": "prod"})
    ui.show()

What a person sees, top to bottom: the live gate banner, the run's facts, an
"acting as" role picker, every item (grouped by phase) with pass / fail / n/a
toggle buttons and its current state, who set it, when and with what evidence,
then a form for evidence and waivers, a sign-off form, the "run verifiers" and
"refresh" buttons, and an Output widget where every message and error lands.

Rules the widget keeps:

* The UI is built from the event store every time it is shown (widget state
  does not survive a Databricks session); nothing is remembered in the widget.
* Every action appends exactly one event through :class:`ChecklistRun`: a toggle
  click (``set_item``), "attach evidence", "waive", "sign". "Run verifiers"
  appends one event per verified item. Choosing a value in a form (item, kind,
  role, decision) is input, not an action, and records nothing.
* A refusal (four eyes, group membership, a waiver without reason) and any
  unexpected error are written to the Output widget, never swallowed; the
  toggles then show the stored state again.
* Only core widgets that exist in ipywidgets 7.7/7.8 (Databricks runtimes) and
  8.x: ToggleButtons, Dropdown, Textarea, Button, HTML, Output, HBox/VBox; no
  custom JavaScript, no 8-only traits (no ``tooltip``, ``Stack``, ``TagsInput``).

``ipywidgets`` is imported only here, and only when a widget is built.
"""

from __future__ import annotations

import logging
import re
import traceback
from collections.abc import Callable
from typing import Any

from dbx_ops import render
from dbx_ops.checklists.gate import GateResult
from dbx_ops.checklists.model import EvidenceKind, Item, ItemState, ItemStatus, RunState, iso
from dbx_ops.checklists.report import state_tone
from dbx_ops.checklists.runs import ChecklistRun
from dbx_ops.errors import DbxOpsError, InvalidInputError

logger = logging.getLogger(__name__)

#: The toggle buttons of an item: (label, state). Waived and "not available" show no button
#: pressed (waive through the form; only a verifier sets "not available").
TOGGLE_OPTIONS: tuple[tuple[str, str], ...] = (
    ("pending", ItemState.PENDING.value),
    ("pass", ItemState.PASS.value),
    ("fail", ItemState.FAIL.value),
    ("n/a", ItemState.NA.value),
)
_TOGGLE_STATES = {value for _, value in TOGGLE_OPTIONS}
NO_ROLE = ""
RUN_SCOPE = ""

#: CSS class of the checklist's outer box (and ``dbx-item-<id>`` on each item row), so a browser
#: test or a screenshot can find them.
ROOT_CLASS = "dbx-ops-checklist"


def css_id(item_id: str) -> str:
    """An item id as a CSS class suffix (letters, digits and ``-``)."""
    return re.sub(r"[^A-Za-z0-9-]", "-", item_id)


def available() -> bool:
    """Whether ipywidgets can be imported here (else show read-only HTML: ``run.to_html()``)."""
    try:
        _widgets()
    except DbxOpsError:
        return False
    return True


def _widgets() -> Any:
    try:
        import ipywidgets
    except ImportError:  # pragma: no cover - the message is the point
        from dbx_ops.errors import InvalidInputError

        raise InvalidInputError(
            "The checklist widget needs ipywidgets (7.7+ or 8.x): pip install ipywidgets."
        ) from None
    return ipywidgets


def gate_banner_html(gate: GateResult, limit: int = 5) -> str:
    """The gate banner: a verdict card with the decision and the first failing reasons."""
    card = render.verdict_card(f"Gate: {gate.decision}", gate.ok, gate.summary())
    reasons = gate.reasons()
    if not reasons:
        return card
    lines = [f"{c.name}: {c.message or c.actual}" for c in reasons[:limit]]
    if len(reasons) > limit:
        lines.append(f"… and {len(reasons) - limit} more")
    return card + render.html_list(lines)


def item_label_html(item: Item, status: ItemStatus) -> str:
    """One item's label: state badge, id, text, flags, who set it when, evidence or reason."""
    flags = []
    if not item.required:
        flags.append("optional")
    if item.owner:
        flags.append(f"owner: {item.owner}")
    if item.verifier:
        flags.append(f"verifier: {item.verifier}")
    parts = [
        render.badge(status.state.value, state_tone(status.state)),
        f" <b>{render.esc(item.id)}</b> {render.esc(item.text)}",
    ]
    if flags:
        parts.append(f" <span style='color:#57606a;font-size:12px'>({render.esc(', '.join(flags))})</span>")
    detail = []
    if status.at is not None:
        who = status.actor + (f" as {status.role}" if status.role else "")
        if status.by_verifier:
            who = f"verifier ({who})"
        detail.append(f"{who} at {iso(status.at)}")
    if status.reason:
        detail.append(status.reason)
    detail += [f"{e.kind.value}: {e.value}" for e in status.evidence]
    if detail:
        style = "color:#57606a;font-size:12px;margin-left:4px"
        parts.append(f"<div style='{style}'>{render.esc(' · '.join(detail))}</div>")
    return "".join(parts)


class Checklist:
    """The interactive checklist of one run.

    Args:
        run: the run (from :func:`dbx_ops.checklists.open_run`); every action goes through it.
        verifiers: the collaborators the "run verifiers" button hands to the verifiers
            (a :class:`~dbx_ops.checklists.verifiers.VerifierContext`). Default: the Spark session
            and state store of the run's Delta event store when it has one, else nothing (verifiers
            that need them then say "not available").
        role: the role preselected in "acting as" (None: no role).
    """

    def __init__(self, run: ChecklistRun, verifiers: Any = None, role: str | None = None) -> None:
        self.run = run
        self.verifiers = verifiers
        self._initial_role = role
        self._built = False
        self._syncing = False
        self.toggles: dict[str, Any] = {}
        self.labels: dict[str, Any] = {}

    # ---- building ---------------------------------------------------------------------------
    def _build(self) -> None:
        w = _widgets()
        template = self.run.template
        self.banner = w.HTML(value="")
        self.header = w.HTML(value="")
        roles = [("(no role)", NO_ROLE)] + [(name, name) for name in template.roles]
        self.role = w.Dropdown(description="acting as", options=roles, value=NO_ROLE)
        if self._initial_role:
            self.role.value = template.role(self._initial_role).name
        rows: list[Any] = []
        for phase in template.phases():
            if phase:
                rows.append(w.HTML(value=f"<h4 style='margin:10px 0 4px 0'>{render.esc(phase)}</h4>"))
            for item in template.items:
                if item.phase != phase:
                    continue
                toggle = w.ToggleButtons(
                    options=list(TOGGLE_OPTIONS),
                    value=ItemState.PENDING.value,
                    style={"button_width": "76px"},
                    layout=w.Layout(width="auto", flex="0 0 auto"),
                )
                toggle.observe(self._on_toggle(item.id), names="value")
                label = w.HTML(value="", layout=w.Layout(flex="1 1 auto"))
                row = w.HBox([toggle, label], layout=w.Layout(align_items="center"))
                row.add_class("dbx-item")
                row.add_class(f"dbx-item-{css_id(item.id)}")
                self.toggles[item.id] = toggle
                self.labels[item.id] = label
                rows.append(row)
        item_options = [(f"{i.id}: {i.text[:60]}", i.id) for i in template.items]
        self.evidence_item = w.Dropdown(
            description="item", options=item_options, layout=w.Layout(width="60%")
        )
        self.evidence_kind = w.Dropdown(
            description="kind", options=[k.value for k in EvidenceKind], value=EvidenceKind.TEXT.value
        )
        self.evidence_text = w.Textarea(
            description="evidence",
            placeholder="evidence, or the reason of a waiver",
            rows=2,
            layout=w.Layout(width="60%"),
        )
        self.attach_button = w.Button(description="attach evidence", icon="paperclip")
        self.waive_button = w.Button(description="waive", button_style="warning")
        self.attach_button.on_click(self._guard("attach evidence", self._attach))
        self.waive_button.on_click(self._guard("waive", self._waive))
        scopes = [("run", RUN_SCOPE)] + [(f"stage {s.id}: {s.title}", s.id) for s in template.stages]
        self.sign_scope = w.Dropdown(description="sign for", options=scopes, value=RUN_SCOPE)
        self.sign_decision = w.ToggleButtons(options=[("go", "go"), ("no-go", "no-go")], value="go")
        self.sign_comment = w.Textarea(description="comment", rows=1, layout=w.Layout(width="60%"))
        self.sign_button = w.Button(description="sign", button_style="primary")
        self.sign_button.on_click(self._guard("sign", self._sign))
        self.verify_button = w.Button(description="run verifiers", button_style="info", icon="check")
        self.verify_button.on_click(self._guard("run verifiers", self._verify))
        self.refresh_button = w.Button(description="refresh", icon="refresh")
        self.refresh_button.on_click(self._guard("refresh", lambda: None))
        self.output = w.Output(layout=w.Layout(border="1px solid #d0d7de", min_height="24px", padding="4px"))
        self.signoffs = w.HTML(value="")
        self.widget = w.VBox(
            [
                self.banner,
                self.header,
                self.role,
                *rows,
                w.HTML(value="<h4 style='margin:10px 0 4px 0'>Evidence and waivers</h4>"),
                self.evidence_item,
                w.HBox([self.evidence_kind, self.attach_button, self.waive_button]),
                self.evidence_text,
                w.HTML(value="<h4 style='margin:10px 0 4px 0'>Sign-off</h4>"),
                w.HBox([self.sign_scope, self.sign_decision]),
                self.sign_comment,
                self.sign_button,
                self.signoffs,
                w.HBox([self.verify_button, self.refresh_button]),
                self.output,
            ]
        )
        self.widget.add_class(ROOT_CLASS)
        self._built = True

    # ---- state -> widgets -------------------------------------------------------------------
    def refresh(self) -> RunState:
        """Re-read the run from the event store and show it (banner, items, sign-offs).

        Returns:
            The state that is shown.
        """
        if not self._built:
            self._build()
        state = self.run.state()
        gate = self.run.gate(state=state)
        self.banner.value = gate_banner_html(gate)
        facts = ", ".join(f"{k}={v}" for k, v in state.run.context.facts().items() if v and k != "commit")
        self.header.value = render.paragraph(
            f"{self.run.template.title} · run {state.run.run_id} · started by {state.run.started_by}"
            + (f" · {facts}" if facts else "")
        )
        self._syncing = True
        try:
            for item in self.run.template.items:
                status = state.status(item.id)
                value = status.state.value if status.state.value in _TOGGLE_STATES else None
                if value is None:
                    # waived / not available: no toggle is pressed
                    self.toggles[item.id].index = None
                elif self.toggles[item.id].value != value:
                    self.toggles[item.id].value = value
                self.labels[item.id].value = item_label_html(item, status)
        finally:
            self._syncing = False
        if state.signoffs:
            from dbx_ops.checklists.report import signoff_table_html

            self.signoffs.value = signoff_table_html(state)
        else:
            self.signoffs.value = "<i>no sign-offs yet</i>"
        return state

    def show(self) -> None:
        """Build the UI from the event store and display it in the notebook.

        Returns nothing, so ``ui.show()`` as a cell's last line displays the checklist once
        (the widget itself is :attr:`widget`).
        """
        self.refresh()
        from IPython.display import display

        display(self.widget)

    def _ipython_display_(self) -> None:
        self.show()

    # ---- actions ----------------------------------------------------------------------------
    def _acting_role(self) -> str | None:
        return self.role.value or None

    def _message(self, text: str) -> None:
        self.output.append_stdout(text.rstrip("\n") + "\n")

    def _error(self, doing: str, exc: BaseException) -> None:
        if isinstance(exc, DbxOpsError):
            logger.info("checklist %s: %s refused: %s", self.run.run_id, doing, exc)
            self.output.append_stderr(f"{doing}: {exc}\n")
        else:
            logger.exception("checklist %s: %s failed", self.run.run_id, doing)
            self.output.append_stderr(
                f"{doing} failed: {type(exc).__name__}: {exc}\n"
                + "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
            )

    def _run_guarded(self, doing: str, action: Callable[[], str | None]) -> None:
        """Run an action; its message or error goes to the Output widget; then show the store again."""
        try:
            message = action()
            if message:
                self._message(message)
        except Exception as exc:
            self._error(doing, exc)
        try:
            self.refresh()
        except Exception as exc:
            self._error("refresh", exc)

    def _guard(self, doing: str, action: Callable[[], str | None]) -> Callable[[Any], None]:
        def handler(_button: Any) -> None:
            self._run_guarded(doing, action)

        return handler

    def _on_toggle(self, item_id: str) -> Callable[[Any], None]:
        def handler(change: Any) -> None:
            if self._syncing:
                return
            new = change["new"] if isinstance(change, dict) else change.new
            if new is None:
                return

            def tick() -> str:
                event = self.run.set_item(item_id, new, role=self._acting_role())
                return f"{item_id}: {event.state} ({event.actor})"

            self._run_guarded(f"set {item_id}", tick)

        return handler

    def _attach(self) -> str:
        text = self.evidence_text.value.strip()
        if not text:
            raise InvalidInputError("Type the evidence first (a text, link, table, run id or file).")
        from dbx_ops.checklists.model import Evidence

        item_id = self.evidence_item.value
        self.run.add_evidence(item_id, Evidence(EvidenceKind(self.evidence_kind.value), text))
        self.evidence_text.value = ""
        return f"{item_id}: evidence attached"

    def _waive(self) -> str:
        item_id = self.evidence_item.value
        self.run.waive(item_id, self.evidence_text.value.strip(), self._acting_role() or "")
        self.evidence_text.value = ""
        return f"{item_id}: waived"

    def _sign(self) -> str:
        role = self._acting_role()
        if not role:
            raise InvalidInputError("Choose the role you sign as in 'acting as' first.")
        stage = self.sign_scope.value or None
        event = self.run.sign(
            role, self.sign_decision.value, stage=stage, comment=self.sign_comment.value.strip()
        )
        self.sign_comment.value = ""
        where = f"stage {stage}" if stage else "the run"
        return f"{event.actor} signed {event.decision} as {event.role} for {where}"

    def _verifier_context(self) -> Any:
        if self.verifiers is not None:
            return self.verifiers
        from dbx_ops.checklists.verifiers import VerifierContext

        state_store = getattr(self.run.events, "store", None)
        return VerifierContext(spark=getattr(state_store, "spark", None), store=state_store, now=self.run.now)

    def _verify(self) -> str:
        events = self.run.verify(context=self._verifier_context())
        counts: dict[str, int] = {}
        for event in events:
            key = str(event.state)
            counts[key] = counts.get(key, 0) + 1
        summary = ", ".join(f"{n} {state}" for state, n in sorted(counts.items())) or "no item has a verifier"
        return f"verifiers: {summary}"
