"""App runners and app-level views: what each app mode does with a request, independent of HTTP."""
