"""What each app mode does with a request, independent of HTTP.

- `runners/`: the workflow runner and the chat runner (one per API family), the `TaskSupervisor` that owns every
  task they spawn (stop, concurrency limit, shutdown), the run recorder and `kawa run`'s local runner.
- `modes/`: how a chat-family message is generated — `chatflow` (the graph engine) and `easy_ui` (chat, completion
  and agent-chat apps), plus the conversation namer and question suggester.
- `inputs/`: a request's inputs checked against the app's form, its files resolved, the `/parameters` views.
- `event_payloads`: Dify's event JSON, built in this one place for every runner and mode.
"""
