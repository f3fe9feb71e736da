"""Builds the Bolt app. Nothing here calls Slack: start-up works offline."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable

from slack_bolt import App, BoltRequest, BoltResponse
from slack_bolt.authorization import AuthorizeResult
from slack_bolt.logger.messages import warning_client_prioritized_and_token_skipped
from slack_sdk import WebClient
from slack_sdk.errors import SlackClientError

from bot.listeners import errors, register_listeners
from bot.services import Services
from bot.slack.client import make_client

log = logging.getLogger(__name__)
INTERACTIONS = frozenset(
    {"block_actions", "view_submission", "view_closed", "shortcut", "message_action"}
)


def same_workspace(
    req: BoltRequest, resp: BoltResponse, next: Callable[[], BoltResponse]
) -> BoltResponse:
    """Refuse commands and interactions from another workspace (a signed request can come
    from any workspace the app is installed in). Events pass: in Slack Connect channels
    they legitimately involve other teams."""
    body = req.body
    is_command = "command" in body
    if not (is_command or body.get("type") in INTERACTIONS):
        return next()
    ours = req.context.authorize_result.team_id if req.context.authorize_result else None
    theirs = req.context.team_id
    if ours and theirs and theirs != ours:
        log.warning("refused a request from team %s", theirs)
        text = "CareIntro is not installed for your workspace."
        if is_command:
            answer = json.dumps({"response_type": "ephemeral", "text": text})
            return BoltResponse(
                status=200, body=answer, headers={"content-type": "application/json"}
            )
        return BoltResponse(status=403, body=text)
    return next()


def cached_authorization(client: WebClient) -> Callable[[], AuthorizeResult]:
    """Bolt's single-workspace authorization, minus its failure mode: `auth.test` is called
    once and cached; while Slack can't be reached, requests still go through (signed by
    Slack, so genuine) instead of failing before the ack."""
    quick = WebClient(token=client.token, base_url=client.base_url, timeout=3)
    cache: list[AuthorizeResult] = []
    lock = threading.Lock()

    def authorize() -> AuthorizeResult:
        with lock:
            if not cache:
                try:
                    response = quick.auth_test()
                except (SlackClientError, OSError) as exc:
                    log.warning("auth.test failed (%s); going on without the team id", exc)
                    return AuthorizeResult(enterprise_id=None, team_id=None, bot_token=client.token)
                cache.append(
                    AuthorizeResult.from_auth_test_response(
                        bot_token=client.token, auth_test_response=response
                    )
                )
            return cache[0]

    return authorize


def _not_the_token_warning(record: logging.LogRecord) -> bool:
    """Bolt reads SLACK_BOT_TOKEN from the environment and warns, at every start, that the
    client we hand it wins; that is the intent (the token comes per request, from
    `authorize`), and a start-up's output should be only what needs reading."""
    return record.getMessage() != warning_client_prioritized_and_token_skipped()


def build_app(
    services: Services, *, client: WebClient | None = None, socket_mode: bool = False
) -> App:
    settings = services.settings
    logging.getLogger("slack_bolt.App").addFilter(_not_the_token_warning)
    client = client or make_client(settings)
    # Bolt gives each listener a copy of this client with the authorized token.
    tokenless = WebClient(base_url=client.base_url, timeout=client.timeout,
                          retry_handlers=client.retry_handlers)  # fmt: skip
    app = App(
        authorize=cached_authorization(client),
        signing_secret=settings.slack_signing_secret or None,
        client=tokenless,
        request_verification_enabled=not socket_mode,
        ignoring_self_events_enabled=False,  # it would call auth.test before the ack
        raise_error_for_unhandled_request=False,
        # Answer Slack as soon as the ack listener returns, not at Bolt's next 10 ms poll
        # of `ack()`. Safe because no ack listener calls Slack: what does is `lazy`.
        process_before_response=not socket_mode,
    )
    app.middleware(same_workspace)
    register_listeners(app, services)
    errors.register(app)
    return app
