"""The training Lambdas' settings: a missing required variable fails at once, by name."""
from __future__ import annotations

import pytest

from personalize_pipeline import steps
from personalize_pipeline.errors import SettingsMissing

FULL_ENV = {
    "PERSONALIZE_ROLE_ARN": "arn:aws:iam::111122223333:role/personalize",
    "PERSONALIZE_KMS_KEY_ARN": "arn:aws:kms:eu-west-1:111122223333:key/k",
    "SSM_PARAMETER_PREFIX": "/personalize-pipeline/dev",
}


def _set(monkeypatch, env):
    for name in FULL_ENV:
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)


def test_settings_come_from_the_environment(monkeypatch):
    _set(monkeypatch, FULL_ENV)
    assert steps.Settings.from_env() == steps.Settings(
        personalize_role_arn=FULL_ENV["PERSONALIZE_ROLE_ARN"], kms_key_arn=FULL_ENV["PERSONALIZE_KMS_KEY_ARN"],
        ssm_prefix=FULL_ENV["SSM_PARAMETER_PREFIX"])


@pytest.mark.parametrize("name", ["PERSONALIZE_ROLE_ARN", "SSM_PARAMETER_PREFIX"])
@pytest.mark.parametrize("value", [None, "", "  "])
def test_a_missing_required_variable_is_named(monkeypatch, name, value):
    env = dict(FULL_ENV)
    env.pop(name)
    if value is not None:
        env[name] = value
    _set(monkeypatch, env)
    with pytest.raises(SettingsMissing, match=f"^{name}: is required"):
        steps.Settings.from_env()


def test_the_kms_key_is_optional_and_means_an_aws_owned_key(monkeypatch):
    env = dict(FULL_ENV)
    env.pop("PERSONALIZE_KMS_KEY_ARN")
    _set(monkeypatch, env)
    assert steps.Settings.from_env().kms_key_arn == ""


def test_settings_read_a_given_mapping_as_the_drift_lambda_does():
    """Both Lambda packages take the environment the same way: from_env(mapping), os.environ by default."""
    given = {**FULL_ENV, "SSM_PARAMETER_PREFIX": "/given/prefix"}
    assert steps.Settings.from_env(given).ssm_prefix == "/given/prefix"
    with pytest.raises(SettingsMissing, match="^PERSONALIZE_ROLE_ARN: is required"):
        steps.Settings.from_env({"SSM_PARAMETER_PREFIX": "/given/prefix"})
