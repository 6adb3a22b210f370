"""`HumanInputForms`: a client reads a paused run's form by its token and answers it; a valid answer resumes the run.

Answers are checked against the form as Dify checks them (the action must be one of the form's, every input must
be present, a select's value one of its options, files resolved as a run's files are). The first answer wins: it
leaves the form `waiting` through a conditional UPDATE, so of two concurrent submissions exactly one resumes the run
and the other gets 412 `human_input_form_submitted`.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

from kawa.apps.human_input_payloads import form_definition
from kawa.apps.inputs.files import FileScope, resolve_file
from kawa.errors import InvalidParam, KawaError, NotFound
from kawa.settings import Settings
from kawa.store.durable_runs import DurableRunStore
from kawa.store.durable_tables import HumanInputForm
from kawa.store.end_users import EndUserStore
from kawa.store.files import UploadFileStore


def _invalid(message: str) -> KawaError:
    return KawaError(message, code="invalid_form_data", status=400)


def _closed(form: HumanInputForm, now: float) -> KawaError | None:
    if form.status == "submitted":
        return KawaError(
            f"This form has already been submitted by another user, form_id={form.id}",
            code="human_input_form_submitted",
            status=412,
        )
    if form.status == "timeout" or form.expiration_time <= now:
        return KawaError(f"This form has expired, form_id={form.id}", code="human_input_form_expired", status=412)
    return None


class HumanInputForms:
    def __init__(
        self,
        *,
        settings: Settings,
        store: DurableRunStore,
        end_users: EndUserStore,
        files: UploadFileStore,
        resume: Callable[[str], Awaitable[bool]],
    ) -> None:
        self.settings = settings
        self.store = store
        self.end_users = end_users
        self.files = files
        self.resume = resume

    async def _form(self, app_id: str, token: str) -> HumanInputForm:
        form = await self.store.form_by_token(token)
        if form is None or form.app_id != app_id:
            raise NotFound("Form not found")
        return form

    async def get(self, app_id: str, token: str) -> dict[str, Any]:
        form = await self._form(app_id, token)
        if (closed := _closed(form, time.time())) is not None:
            raise closed
        return form_definition(form)

    async def submit(self, app_id: str, token: str, *, inputs: Any, action: str, user: str) -> dict[str, Any]:
        form = await self._form(app_id, token)
        if (closed := _closed(form, time.time())) is not None:
            raise closed
        definition = form.definition
        if action not in {a.get("id") for a in definition["user_actions"]}:
            raise _invalid(f"Invalid action: {action}")
        if not isinstance(inputs, dict):
            raise _invalid("inputs must be an object")
        missing = [i["output_variable_name"] for i in definition["inputs"] if i["output_variable_name"] not in inputs]
        if missing:
            raise _invalid(f"Missing required inputs: {', '.join(missing)}")
        end_user = await self.end_users.get_or_create(app_id, user)
        scope = FileScope(
            app_id=app_id,
            end_user_id=end_user.id,
            base_url=self.settings.base_url,
            signing_key=self.settings.signing_key(),
        )
        data: dict[str, Any] = dict(inputs)
        for field in definition["inputs"]:
            name = field["output_variable_name"]
            data[name] = await self._value(field, inputs[name], scope)
        now = time.time()
        if not await self.store.submit(form.id, action_id=action, data=data, now=now):
            again = await self.store.form_by_token(token)
            raise (_closed(again, now) if again is not None else None) or NotFound("Form not found")
        await self.resume(form.workflow_run_id)
        return {}

    async def _value(self, field: dict[str, Any], value: Any, scope: FileScope) -> Any:
        name, kind = field["output_variable_name"], field["type"]
        if kind in ("paragraph", "select"):
            if not isinstance(value, str):
                raise _invalid(f"Invalid value for {kind} input '{name}': expected string")
            source = field.get("option_source") or {}
            if kind == "select" and source.get("type", "constant") == "constant" and value not in source["value"]:
                raise _invalid(f"Invalid value for select input '{name}': {value}")
            return value
        try:
            if kind == "file":
                return await resolve_file(value, scope, self.files, allowed=field, label=name)
            if not isinstance(value, list):
                raise _invalid(f"Invalid value for file-list input '{name}': expected a list")
            limit = int(field.get("number_limits") or 0)
            if limit and len(value) > limit:
                raise _invalid(f"Invalid value for file-list input '{name}': at most {limit} files")
            return [await resolve_file(v, scope, self.files, allowed=field, label=name) for v in value]
        except InvalidParam as exc:
            raise _invalid(exc.message) from None
