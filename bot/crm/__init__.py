"""CRM integrations: webhooks (generic, HubSpot), CSV import, and the event inbox."""
