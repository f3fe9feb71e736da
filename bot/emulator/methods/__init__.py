"""Handlers for the Slack Web API methods the emulator serves, by method name."""

from bot.emulator.methods import apps, chat, connect, conversations, people, views
from bot.emulator.methods.registry import HANDLERS, Handler

__all__ = ["HANDLERS", "Handler", "apps", "chat", "connect", "conversations", "people", "views"]
