"""CRM integrations: webhooks (generic, HubSpot), deal records, and the event inbox."""
