"""A request's inputs: validated against the app's form, files resolved, and the `/parameters`-style app views."""
