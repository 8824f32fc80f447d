from pathlib import Path

import pytest

from cohesio.config import CANONICAL_BASE_IRI, ConfigError, load_settings


def test_defaults(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    settings = load_settings(environ={})
    assert settings.base_iri == CANONICAL_BASE_IRI
    assert settings.store_path == tmp_path / "var"
    assert settings.port == 8000


def test_file_then_environment_then_flags(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "cohesio.toml").write_text('[cohesio]\nport = 9000\nlang = "fr"\nstore_dir = "builds"\n')
    settings = load_settings(environ={})
    assert (settings.port, settings.lang, settings.store_path) == (9000, "fr", tmp_path / "builds")
    settings = load_settings(environ={"COHESIO_PORT": "9100"})
    assert settings.port == 9100 and settings.lang == "fr"
    settings = load_settings(environ={"COHESIO_PORT": "9100"}, port=9200, lang=None)
    assert settings.port == 9200 and settings.lang == "fr"


def test_config_file_named_by_environment(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    other = tmp_path / "elsewhere.toml"
    other.write_text('base_iri = "https://data.example.org/"\n')
    assert load_settings(environ={"COHESIO_CONFIG": str(other)}).base_iri == "https://data.example.org/"


@pytest.mark.parametrize(
    "content, needle",
    [
        ('port = "abc"', "port"),
        ("colour = 1", "colour"),
        ('base_iri = "ftp://x/"', "base_iri"),
        ('base_iri = "https://x.org/no-slash"', "base_iri"),
        ('lang = "de"', "lang"),
        ("port = 70000", "port"),
        ("this is not toml", "illisible"),
        ("query_memory_limit = -1", "query_memory_limit"),
        ("query_memory_limit = 10", "query_memory_limit"),
        ("query_process_recycle = -5", "query_process_recycle"),
    ],
)
def test_bad_settings_are_named_in_both_languages(tmp_path, monkeypatch, content, needle):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "cohesio.toml").write_text(content)
    with pytest.raises(ConfigError) as excinfo:
        load_settings(environ={})
    message = str(excinfo.value)
    assert needle in message and " / " in message


def test_missing_explicit_file(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_settings(Path(tmp_path / "nope.toml"), environ={})


def test_query_memory_settings_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    settings = load_settings(environ={"COHESIO_QUERY_MEMORY_LIMIT": "0", "COHESIO_QUERY_PROCESS_RECYCLE": "300"})
    assert settings.query_memory_limit == 0 and settings.query_process_recycle == 300
    defaults = load_settings(environ={})
    assert defaults.query_memory_limit == 2048 and defaults.query_process_recycle == 512
