"""Settings precedence: env vars, then secrets.toml, then defaults."""

from pathlib import Path

from lib.config import Settings, load_settings


def test_defaults_when_nothing_is_set(tmp_path: Path):
    settings = load_settings(env={}, secrets_path=tmp_path / "missing.toml")
    assert settings == Settings()
    assert settings.data_dir.name == "data"


def test_env_beats_secrets_beats_defaults(tmp_path: Path):
    secrets = tmp_path / "secrets.toml"
    secrets.write_text('OPENAI_API_KEY = "sk-from-secrets"\nRAGLAB_MAX_FILE_MB = 7\n')
    settings = load_settings(env={"RAGLAB_DATA_DIR": str(tmp_path / "d")}, secrets_path=secrets)
    assert settings.data_dir == tmp_path / "d"
    assert settings.openai_api_key == "sk-from-secrets"
    assert settings.max_file_bytes == 7 * 1024 * 1024
    settings = load_settings(env={"OPENAI_API_KEY": "sk-env"}, secrets_path=secrets)
    assert settings.openai_api_key == "sk-env"


def test_secrets_never_appear_in_repr(tmp_path: Path):
    settings = load_settings(env={"OPENAI_API_KEY": "sk-very-secret"}, secrets_path=tmp_path / "x")
    assert "sk-very-secret" not in repr(settings)


def test_malformed_secrets_file_is_ignored(tmp_path: Path):
    secrets = tmp_path / "secrets.toml"
    secrets.write_text("this is = = not toml")
    assert load_settings(env={}, secrets_path=secrets) == Settings()
