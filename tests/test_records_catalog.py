"""data/: the shipped catalog loads, and each kind of mistake is named with file and line."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from helpline import create_app
from helpline.cli import main
from helpline.config import DEFAULT_DATA_PATH, ConfigError
from helpline.models.enums import ReferralKind
from helpline.records.catalog import (
    CATEGORIES_FILE,
    DIRECTORY_FILE,
    REFERRALS_FILE,
    CatalogInvalid,
    load_catalog,
    read,
)
from tests.cli_env import use_settings
from tests.conftest import make_settings

PROVINCES = (
    "Gaziantep",
    "Şanlıurfa",
    "Hatay",
    "İstanbul",
    "Ankara",
    "İzmir",
    "Mersin",
    "Kilis",
    "Konya",
    "Bursa",
)


def test_catalog_shipped_files_load() -> None:
    """The files in data/ load without a problem and cover what the console offers."""
    catalog, problems = read(DEFAULT_DATA_PATH)
    assert [str(p) for p in problems] == []
    assert set(catalog.referral_kinds) == {kind.value for kind in ReferralKind}
    assert set(PROVINCES) <= set(catalog.provinces)
    assert all(catalog.provinces[p] for p in PROVINCES)
    for code in ("violence.domestic", "psychosocial.grief", "migration.temporary_protection"):
        assert code in catalog.by_code
    for category in catalog.by_code.values():
        assert {"tr", "en"} <= set(category.labels.by_language)
    assert catalog.category_label("violence.domestic", "tr") == "Aile içi şiddet"
    assert catalog.category_label("violence.domestic", "fa") == "Domestic violence"
    assert catalog.category_label("retired.code", "en") == "retired.code"


def test_catalog_directory_has_no_phone_numbers() -> None:
    """The sample directory names centres only: no invented phone numbers."""
    text = (DEFAULT_DATA_PATH / DIRECTORY_FILE).read_text(encoding="utf-8")
    assert not any(ch.isdigit() for ch in text)


BROKEN = [
    (
        "missing English label",
        CATEGORIES_FILE,
        """
        categories:
          violence:
            label: {tr: Şiddet}
        """,
        "data/categories.yaml:3: category 'violence' has no label in en",
    ),
    (
        "bad code segment",
        CATEGORIES_FILE,
        """
        categories:
          Violence:
            label: {tr: Şiddet, en: Violence}
        """,
        "data/categories.yaml:2: 'Violence': a code segment is lower-case letters, digits and _",
    ),
    (
        "key written twice",
        CATEGORIES_FILE,
        """
        categories:
          violence:
            label: {tr: Şiddet, en: Violence}
          violence:
            label: {tr: Şiddet, en: Violence again}
        """,
        "data/categories.yaml:4: 'violence' is written twice in it; YAML would keep only the last",
    ),
    (
        "unknown key in a category",
        CATEGORIES_FILE,
        """
        categories:
          violence:
            label: {tr: Şiddet, en: Violence}
            colour: red
        """,
        "data/categories.yaml:4: unknown key 'colour' in category 'violence' "
        "(known: children, label)",
    ),
    (
        "nested too deep",
        CATEGORIES_FILE,
        """
        categories:
          a:
            label: {tr: a, en: a}
            children:
              b:
                label: {tr: b, en: b}
                children:
                  c:
                    label: {tr: c, en: c}
                    children:
                      d:
                        label: {tr: d, en: d}
        """,
        "data/categories.yaml:11: 'a.b.c.d' is nested deeper than 3 levels",
    ),
    (
        "not YAML",
        CATEGORIES_FILE,
        """
        categories:
          violence: [unclosed
        """,
        "data/categories.yaml:3: invalid YAML",
    ),
    (
        "unknown referral kind",
        REFERRALS_FILE,
        """
        kinds:
          lawyer:
            label: {tr: Avukat, en: Lawyer}
        """,
        "data/referrals.yaml:2: 'lawyer' is not a referral kind",
    ),
    (
        "missing referral kinds",
        REFERRALS_FILE,
        """
        kinds:
          police:
            label: {tr: Kolluk, en: Police}
        """,
        "data/referrals.yaml:2: no entry for referral kind(s): child_protection",
    ),
    (
        "a phone number in the directory",
        DIRECTORY_FILE,
        """
        provinces:
          Hatay:
            - {name: Antakya Sosyal Hizmet Merkezi, district: Antakya}
            - {name: Defne Sosyal Hizmet Merkezi, district: Defne, phone: "0326 000 00 00"}
        """,
        "data/ssc_directory.yaml:4: unknown key 'phone' in a centre in 'Hatay'",
    ),
    (
        "a centre listed twice",
        DIRECTORY_FILE,
        """
        provinces:
          Hatay:
            - {name: Antakya Sosyal Hizmet Merkezi, district: Antakya}
            - {name: Antakya Sosyal Hizmet Merkezi, district: Antakya}
        """,
        "data/ssc_directory.yaml:4: centre 'Antakya Sosyal Hizmet Merkezi' is listed twice",
    ),
    (
        "a province without centres",
        DIRECTORY_FILE,
        """
        provinces:
          Kilis:
        """,
        "data/ssc_directory.yaml:2: province 'Kilis' needs a list of centres",
    ),
    (
        "a centre without a district",
        DIRECTORY_FILE,
        """
        provinces:
          Kilis:
            - name: Kilis Sosyal Hizmet Merkezi
        """,
        "data/ssc_directory.yaml:3: centre 'Kilis Sosyal Hizmet Merkezi' needs a district",
    ),
]


def _broken_copy(tmp_path: Path, name: str, text: str) -> Path:
    root = tmp_path / "data"
    shutil.copytree(DEFAULT_DATA_PATH, root)
    (root / name).write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return root


@pytest.mark.parametrize(
    ("name", "text", "expected"), [case[1:] for case in BROKEN], ids=[case[0] for case in BROKEN]
)
def test_catalog_broken_copy_names_file_and_line(
    tmp_path: Path, name: str, text: str, expected: str
) -> None:
    """Each mistake is reported as data/<file>:<line>: <what is wrong>."""
    root = _broken_copy(tmp_path, name, text)
    _, problems = read(root)
    shown = [str(p) for p in problems]
    assert any(line.startswith(expected) for line in shown), shown
    with pytest.raises(CatalogInvalid, match="problem"):
        load_catalog(root)


def test_catalog_missing_file_is_named(tmp_path: Path) -> None:
    root = tmp_path / "data"
    shutil.copytree(DEFAULT_DATA_PATH, root)
    (root / REFERRALS_FILE).unlink()
    _, problems = read(root)
    assert [str(p) for p in problems] == ["data/referrals.yaml:0: the file is missing"]


def test_catalog_invalid_data_stops_the_app(
    tmp_path: Path, database_url: str, redis_url: str
) -> None:
    """The app refuses to start on a broken data/, naming the file and line."""
    root = _broken_copy(tmp_path, CATEGORIES_FILE, BROKEN[0][2])
    settings = make_settings(database_url, redis_url, tmp_path / "i", HELPLINE_DATA_PATH=str(root))
    with pytest.raises(ConfigError, match=r"data/categories\.yaml:3: category 'violence'"):
        create_app(settings)


def test_catalog_is_loaded_once_into_the_app(app: object) -> None:
    from flask import Flask

    assert isinstance(app, Flask)
    catalog = app.extensions["helpline.catalog"]
    assert "violence.domestic" in catalog.by_code


def test_catalog_problems_in_helpline_check(
    tmp_path: Path, database_url: str, redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`helpline check` lists data/ problems too, so an edit can be checked before a restart."""
    root = _broken_copy(tmp_path, DIRECTORY_FILE, BROKEN[8][2])
    settings = make_settings(database_url, redis_url, tmp_path / "i")
    use_settings(monkeypatch, settings, HELPLINE_DATA_PATH=str(root))
    result = CliRunner().invoke(main, ["check", "--no-connect"])
    assert result.exit_code == 1
    assert "data/ssc_directory.yaml:4: unknown key 'phone'" in result.output
