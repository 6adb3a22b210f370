"""Files: storage backends, the streaming upload reader, file type rules and (elsewhere) text extraction."""
