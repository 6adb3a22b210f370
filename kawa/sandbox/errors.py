"""Typed errors of code execution; class names double as the node's `error_type`, as in Dify."""

from __future__ import annotations

from kawa.errors import KawaError


class CodeExecutionError(KawaError):
    """The user's code failed: it raised, or broke a limit. `message` is what the user should read."""

    code = "code_execution_error"
    status = 400
    default_message = "Code execution failed."


class CodeTimeoutError(CodeExecutionError):
    default_message = "Code execution timed out."


class CodeMemoryError(CodeExecutionError):
    default_message = "Code execution exceeded the memory limit."


class SandboxUnavailableError(CodeExecutionError):
    """No worker could be started (e.g. node is missing); not the user's fault."""

    code = "sandbox_unavailable"
    status = 503
    default_message = "The code sandbox is not available."


class OutputValidationError(CodeExecutionError):
    """The result does not match the declared outputs or breaks an output limit."""

    default_message = "The code's output is invalid."


class DepthLimitError(OutputValidationError):
    default_message = "The code's output is nested too deeply."
