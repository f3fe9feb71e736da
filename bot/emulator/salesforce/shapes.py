"""Salesforce's error bodies: a JSON list of `{message, errorCode[, fields]}` for the REST
API (REST API Developer Guide, "Status Codes and Error Responses"), and the OAuth
endpoint's `{error, error_description}` (RFC 6749 §5.2, with Salesforce's codes).
"""

from __future__ import annotations

from typing import Any


def error(code: str, message: str, fields: list[str] | None = None) -> list[dict[str, Any]]:
    body: dict[str, Any] = {"message": message, "errorCode": code}
    if fields is not None:
        body["fields"] = fields
    return [body]


def invalid_session() -> list[dict[str, Any]]:
    return error("INVALID_SESSION_ID", "Session expired or invalid")


def missing_auth_header() -> list[dict[str, Any]]:
    return error("INVALID_AUTH_HEADER", "INVALID_HEADER_TYPE")


def not_found() -> list[dict[str, Any]]:
    return error("NOT_FOUND", "The requested resource does not exist")


def request_limit_exceeded() -> list[dict[str, Any]]:
    return error("REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")


def server_error(status: int) -> list[dict[str, Any]]:
    """A 5xx as Salesforce words it: 503 SERVER_UNAVAILABLE, otherwise UNKNOWN_EXCEPTION."""
    if status == 503:
        return error("SERVER_UNAVAILABLE", "Server temporarily unavailable, please retry.")
    return error(
        "UNKNOWN_EXCEPTION",
        "An unexpected error occurred. Please include this ErrorId if you contact support: "
        "1234567890-12345 (-1234567890)",
    )


def oauth_error(code: str, description: str) -> dict[str, str]:
    return {"error": code, "error_description": description}
