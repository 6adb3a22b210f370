"""Outbound networking: the SSRF-guarded HTTP client used by http-request nodes and HTTP tools."""
