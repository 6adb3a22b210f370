"""App modes of the chat family (`ChatMode` implementations): chatflow and the easy-UI chat/completion/agent apps."""
