"""Operability: Prometheus metrics, OpenTelemetry traces and structured logs of a running kawa.

`Telemetry` (telemetry.py) is built once at start-up from `TelemetrySettings` and watches runs through the seams the
rest of kawa already has: the engine's run observer (runs and nodes), the model runtime (LLM calls), the tool
catalogue, the knowledge-search port and the code sandbox. It sits below `kawa.settings` (which nests its settings)
and above the domain packages it watches; nothing below it imports it.
"""
