"""The data layer: one module per concept, each function `session` first, keyword-only.

Flows and listeners never build SQL of their own; a query belongs beside the others of
its concept here. No Slack or CRM calls in this package.
"""
