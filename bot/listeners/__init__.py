"""Slack listeners, one module per surface; each has `register(app, services)`."""

from slack_bolt import App

from bot.listeners import actions, commands, events, views
from bot.services import Services


def register_listeners(app: App, services: Services) -> None:
    commands.register(app, services)
    views.register(app, services)
    events.register(app, services)
    actions.register(app, services)
