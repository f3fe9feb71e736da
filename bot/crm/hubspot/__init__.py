"""The HubSpot connector: a package of its own (client, pacing, pipelines, mapping,
connector, poller, notes), on when `HUBSPOT_ACCESS_TOKEN` is set.

Why the official `hubspot-api-client` rather than a thin client: it is HubSpot's own,
kept in step with the CRM v3/v4 API (paths, models, parameter names), and it takes a
`host`, so the same code talks to HubSpot and to `FakeHubSpot`. What it lacks we add
around it, in `client.py`: its urllib3 retries are turned off (they would repeat a
note creation and ignore HubSpot's rate-limit headers) and every call is paced and
classified there.
"""

from bot.crm.hubspot.connector import HubSpotConnector

__all__ = ["HubSpotConnector"]
