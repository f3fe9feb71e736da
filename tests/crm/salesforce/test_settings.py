"""The SALESFORCE_* settings: all three or none, an https My Domain URL, a REST version."""

from __future__ import annotations

import pytest

from bot.config import ConfigError, Settings

ON = {
    "SALESFORCE_INSTANCE_URL": "https://acme.my.salesforce.com/",
    "SALESFORCE_CLIENT_ID": "3MVG9abc",
    "SALESFORCE_CLIENT_SECRET": "s3cret",
}


def test_off_by_default_and_v62_when_on():
    assert Settings.from_env({}).salesforce_instance_url == ""
    settings = Settings.from_env(ON)
    assert settings.salesforce_instance_url == "https://acme.my.salesforce.com"
    assert settings.salesforce_api_version == "62.0"
    assert Settings.from_env({**ON, "SALESFORCE_API_VERSION": "61.0"}).salesforce_api_version == (
        "61.0"
    )


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({**ON, "SALESFORCE_CLIENT_SECRET": ""}, "SALESFORCE_CLIENT_SECRET is not set: the "
         "Salesforce connector needs SALESFORCE_INSTANCE_URL, SALESFORCE_CLIENT_ID and"),
        ({"SALESFORCE_CLIENT_ID": "x"}, "SALESFORCE_INSTANCE_URL is not set"),
        ({**ON, "SALESFORCE_INSTANCE_URL": "http://acme.my.salesforce.com"},
         "SALESFORCE_INSTANCE_URL must be an https URL such as https://acme.my.salesforce.com"),
        ({**ON, "SALESFORCE_INSTANCE_URL": "acme.my.salesforce.com"}, "must be an https URL"),
        ({**ON, "SALESFORCE_INSTANCE_URL": "https://acme.my.salesforce.com/services/data"},
         "must be the org's URL alone"),
        ({**ON, "SALESFORCE_API_VERSION": "latest"}, "SALESFORCE_API_VERSION must be a REST API "
         "version such as v62.0, not 'latest'"),
    ],
)  # fmt: skip
def test_bad_values_are_one_line_naming_the_setting(env, message):
    with pytest.raises(ConfigError) as refused:
        Settings.from_env(env)
    assert message in str(refused.value) and "\n" not in str(refused.value)
