"""Tools that workflows (tool node) and agents call: built-in tools that run in-process and offline, described with
JSON schemas so that a model can call them; files in and out as `InputFile` / `ToolFile`."""
