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


# ---------------------------------------------------------------- the uploader's limit (issue 15)

import re  # noqa: E402
import subprocess  # noqa: E402
import tomllib  # noqa: E402

from lib.config import PROJECT_ROOT  # noqa: E402


def test_streamlit_config_upload_limit_is_the_apps_default_file_limit():
    config = tomllib.loads((PROJECT_ROOT / ".streamlit" / "config.toml").read_text())
    assert config["server"]["maxUploadSize"] == Settings().upload_limit_mb == 50


def test_make_run_passes_the_configured_file_limit_to_streamlit(tmp_path: Path):
    dry = subprocess.run(["make", "-n", "run"], cwd=PROJECT_ROOT, capture_output=True, text=True,
                         check=True).stdout
    joined = dry.replace("\\\n", " ")
    [command] = [line for line in joined.splitlines() if "streamlit run" in line]
    match = re.search(r"--server\.maxUploadSize (\S+|\$\(.*\))$", command.strip())
    assert match, command
    # Evaluate the flag's value as the shell would, with a configured limit of 12.5 MB.
    env = {"PATH": "/usr/bin:/bin", "RAGLAB_MAX_FILE_MB": "12.5"}
    value = subprocess.run(["bash", "-c", f"echo {match.group(1)}"], cwd=PROJECT_ROOT, env=env,
                           capture_output=True, text=True, check=True).stdout.strip()
    assert value == "13" == str(load_settings(env=env).upload_limit_mb)


def test_upload_limit_rounds_up_to_whole_megabytes():
    assert Settings(max_file_mb=0.2).upload_limit_mb == 1
    assert Settings(max_file_mb=20).upload_limit_mb == 20


def test_chroma_server_mode_from_env_and_secrets(tmp_path: Path):
    none = load_settings(env={}, secrets_path=tmp_path / "missing.toml")
    assert none.chroma_server is None  # no host: embedded Chroma, as before
    secrets = tmp_path / "secrets.toml"
    secrets.write_text('RAGLAB_CHROMA_HOST = "chroma.internal"\nRAGLAB_CHROMA_TOKEN = "tok-secret"\n')
    env = {"RAGLAB_CHROMA_PORT": "9001", "RAGLAB_CHROMA_SSL": "true"}
    server = load_settings(env=env, secrets_path=secrets).chroma_server
    assert server is not None
    assert (server.host, server.port, server.ssl, server.label) == ("chroma.internal", 9001, True,
                                                                    "chroma.internal:9001")
    assert server.headers() == {"Authorization": "Bearer tok-secret"}
    settings = load_settings(env=env, secrets_path=secrets)
    assert "tok-secret" not in repr(settings) and "tok-secret" not in repr(server)
    no_token = load_settings(env={"RAGLAB_CHROMA_HOST": "h"}, secrets_path=tmp_path / "x")
    assert no_token.chroma_server is not None and no_token.chroma_server.headers() == {}
