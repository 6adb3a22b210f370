"""Files: storage backends, the streaming upload reader, file type rules, text extraction and their settings.

An adapter: it imports only kawa.errors (where the file errors live, shared with kawa.store and the routes).
"""
