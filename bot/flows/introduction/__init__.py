"""The introduction: SPEC steps 1–7, each recorded once done, resumable by any process.

A step is recorded as *started* before its Slack calls and *done* after them. A step
found started but not done (a crash, a timeout, a dropped connection) runs again in
"resumed" mode: before acting it looks at what Slack already has (a channel of its
name created by the bot, a message carrying its metadata), so nothing happens twice.

The rooms, by job: `runner` (the step loop, its table of steps, the end of a run),
`lease` (holding an introduction while a worker runs it), `people` (Slack users, the
roster, the `prepare` step), `channel` (the channel, its members and topic),
`messages` (posting once: welcome, brief, the AE's note), `connect` (the Slack Connect
invitation queue).
"""

from bot.flows.introduction.people import public_profile
from bot.flows.introduction.runner import IntroductionRunner

__all__ = ["IntroductionRunner", "public_profile"]
