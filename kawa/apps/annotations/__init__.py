"""Annotations: question/answer pairs an app replies with instead of its model (`service`: editing, indexing and
the enable/disable jobs; `reply`: the chat-mode wrapper that answers a matching query)."""
