"""Temporary: `bot/flows/reminders.py` (another helper's) still imports Reply from here.

Delete at the merge, when that import becomes `from bot.flows.slash_handlers import Reply`.
"""

from bot.flows.slash_handlers import Reply

__all__ = ["Reply"]
