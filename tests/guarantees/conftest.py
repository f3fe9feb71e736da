"""Fixtures for the guarantee tests."""

from __future__ import annotations

import pytest

from tests.crm.conftest import CRM_SECRET, HUBSPOT_SECRET


@pytest.fixture
def webhook_bot(make_bot):
    """The running app with the CRM webhook secrets set."""
    return make_bot(crm_webhook_secret=CRM_SECRET, hubspot_client_secret=HUBSPOT_SECRET)
