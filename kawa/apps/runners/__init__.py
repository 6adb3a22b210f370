"""Runners: a request → a task under the `TaskSupervisor` whose events stream to the client (or are awaited)."""
