"""Production settings: `check --deploy` is clean and nothing insecure is defaulted."""

import os
import secrets
import subprocess
import sys


def _assay(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "assay", *args], capture_output=True, text=True, env=env, check=False)


def test_check_deploy_is_clean_in_production_mode(tmp_path):
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DJANGO_ENV": "production",
        "SECRET_KEY": secrets.token_urlsafe(60),
        "ALLOWED_HOSTS": "assay.example.com",
        "ASSAY_VAR_DIR": str(tmp_path),
    }
    env.pop("DATABASE_URL", None)
    result = _assay("check", "--deploy", "--fail-level", "WARNING", env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_refuses_to_start_without_a_secret_key(tmp_path):
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", "DJANGO_ENV": "production"}
    env.pop("SECRET_KEY", None)
    env["ASSAY_VAR_DIR"] = str(tmp_path)
    result = _assay("check", env=env)
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr
