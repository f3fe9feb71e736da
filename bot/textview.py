"""Temporary: `bot/flows/reminders.py` (another helper's) still imports from here.

Delete at the merge, when that import becomes `from bot.plain_text import blocks_to_text`.
"""

from bot.plain_text import blocks_to_text

__all__ = ["blocks_to_text"]
