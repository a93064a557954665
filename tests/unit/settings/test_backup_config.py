"""`backup.*`: defaults, validation, and which stacks run the Vault snapshot CronJob."""

from __future__ import annotations

import pytest

from components.settings.reader import ConfigError
from tests.fixtures.config import settings_of


def test_defaults_back_up_daily_and_keep_two_weeks():
    backup = settings_of("local").backup
    assert backup.enabled and backup.schedule == "17 2 * * *" and backup.retention_days == 14
    assert settings_of("remote").vault_snapshots


@pytest.mark.parametrize(
    ("backup", "key"),
    [
        ({"schedule": "daily"}, "backup.schedule"),
        ({"retentionDays": 0}, "backup.retentionDays"),
        ({"enabled": "yes"}, "backup.enabled"),
        ({"retention": 3}, "backup.retention"),
    ],
)
def test_bad_values_name_the_key_and_the_fix(backup, key):
    with pytest.raises(ConfigError) as error:
        settings_of("local", {"backup": backup})
    assert key in str(error.value) and "Fix:" in str(error.value)


def test_no_snapshot_job_without_backups_or_without_a_vault_here():
    assert not settings_of("local", {"backup": {"enabled": False}}).vault_snapshots
    external = {
        "vault": {"externalAddress": "https://vault.example.com", "externalCaCert": "-----BEGIN CERTIFICATE-----\nx"}
    }
    assert not settings_of("local", external).vault_snapshots
