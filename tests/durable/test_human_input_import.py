"""Import warnings of the human-input node: e-mail delivery is refused clearly (the form is the Service API's)."""

from __future__ import annotations

from durable_support import approval_dsl

from kawa.apps.import_check import unrunnable_warnings
from kawa.dsl import load_dsl
from kawa.models.registry import ModelRuntime
from kawa.settings import Settings
from kawa.workflow.graph import compile_graph


def test_email_delivery_gets_an_import_warning_and_webapp_delivery_none() -> None:
    models = ModelRuntime(Settings().models)
    webapp = load_dsl(approval_dsl(), check_graph=compile_graph)
    assert unrunnable_warnings(webapp, models) == []
    email = approval_dsl().replace(
        "- {id: webapp-1, type: webapp, enabled: true, config: {}}",
        "- {id: mail-1, type: email, enabled: true, config: {recipients: {items: []}, subject: Review, body: x}}",
    )
    warnings = unrunnable_warnings(load_dsl(email, check_graph=compile_graph), models)
    assert warnings == [
        "node 'Review' (human-input): e-mail delivery is not available in kawa; its form is answered through the "
        "Service API (GET/POST /form/human_input/{form_token}, the token in human_input_required), as WebApp "
        "delivery is."
    ]
