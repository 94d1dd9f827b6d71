"""Backups: a restore into an empty database gives back exactly the same data."""

import json

import pytest
from sqlalchemy import func, select

from matchmaker.core.backup import dump
from matchmaker.directory.models import Profile
from matchmaker.extensions import db


@pytest.fixture
def populated(runner, make_user, make_profile):
    runner.invoke(args=["demo"])
    owner = make_user(email="owner@example.de")
    make_profile(owner=owner, name="Brauerei Görlitz", tags=["Qualität", "Ölpreis"])
    return owner


def test_backup_restore_round_trip(populated, runner, tmp_path, app_factory, database_template):
    before = dump()
    backup = tmp_path / "backup.json.gz"
    result = runner.invoke(args=["backup", str(backup)])
    assert result.exit_code == 0, result.output

    # refuse to restore over existing data
    refused = runner.invoke(args=["restore", str(backup)])
    assert refused.exit_code == 1
    assert "not empty" in refused.output

    # a second, freshly migrated empty database
    from tests.conftest import _pg_admin, _pg_url

    kind, source = database_template
    if kind == "postgresql":
        name = f"{source}_restore"
        _pg_admin(f'CREATE DATABASE "{name}" TEMPLATE "{source}"')
        uri = _pg_url(name)
    else:
        import shutil

        target = tmp_path / "restore.db"
        shutil.copyfile(source, target)
        uri = f"sqlite:///{target}"
    try:
        other = app_factory(SQLALCHEMY_DATABASE_URI=uri)
        with other.app_context():
            restored = other.test_cli_runner().invoke(args=["restore", str(backup)])
            assert restored.exit_code == 0, restored.output
            after = dump()
            # ids keep counting after the restored rows (sequences moved on PostgreSQL)
            db.session.add(Profile(kind="sme", name="Neu", tags=[]))
            db.session.commit()
            assert db.session.scalar(select(func.max(Profile.id))) > max(
                row["id"] for row in before["tables"]["profiles"]
            )
            db.session.remove()
            db.engine.dispose()
    finally:
        if kind == "postgresql":
            _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    assert after["tables"] == before["tables"]
    assert sum(len(rows) for rows in before["tables"].values()) > 100
    assert json.dumps(after["tables"], ensure_ascii=False).count("Görlitz") >= 1


def test_restore_rejects_other_files(runner, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "something-else"}', encoding="utf-8")
    result = runner.invoke(args=["restore", str(bad)])
    assert result.exit_code == 1
    assert "not a Matchmaker backup" in result.output
    garbage = tmp_path / "garbage.json"
    garbage.write_bytes(b"\x00\x01not json")
    assert runner.invoke(args=["restore", str(garbage)]).exit_code == 1


def test_restore_rejects_other_schema_revision(runner, tmp_path):
    document = dump()
    document["revision"] = "0000_ancient"
    path = tmp_path / "old.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    result = runner.invoke(args=["restore", str(path)])
    assert result.exit_code == 1
    assert "schema revision" in result.output
