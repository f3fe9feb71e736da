"""A local fake of Slack's Web API, so CareIntro runs without a real workspace.

`FakeSlack` serves `/api/<method>` on 127.0.0.1 (OS-chosen port) and behaves like Slack
for the methods the bot uses: same arguments, same `ok`/`error` answers, rate limits
(optional, with a speed-up clock) and scripted faults (errors, 5xx, 429, dropped or hung
connections). The test suite drives it with a real `slack_sdk.WebClient`, and
`python -m bot sandbox` runs the whole bot against it.

    with FakeSlack() as fake:
        client = WebClient(token=fake.bot_token, base_url=fake.url)

Only the standard library is used, so the emulator ships with the bot; Socket Mode's
WebSocket server (`socket_mode.py`) needs the `websockets` library (a test dependency),
imported only when an app first calls `apps.connections.open`.
"""

from bot.emulator.dispatch import CallRecord
from bot.emulator.fake import FakeSlack
from bot.emulator.state import Channel, User

__all__ = ["CallRecord", "Channel", "FakeSlack", "User"]
