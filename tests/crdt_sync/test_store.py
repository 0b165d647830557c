"""The store keeps a text's CRDT updates and gives the whole document back, on SQLite and
PostgreSQL alike."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from pycrdt import Doc, Map, Text
from sqlalchemy import inspect

from crdt_sync.models import Base
from crdt_sync.store import (
    MIGRATIONS_DIR,
    InvalidUpdate,
    Store,
    StoreError,
    StoreUnavailable,
    UnknownText,
    default_url,
    scoped_document_id,
)

WORDS = "Les Parties [conviennent][décident] — 各缔约方 — Стороны [соглашаются] — الأطراف"


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    with Store(db_url) as opened:
        yield opened


def words_of(update: bytes) -> str:
    doc = Doc()
    doc.apply_update(update)
    return str(doc.get("words", type=Text))


def new_doc(words: str) -> Doc:
    doc = Doc()
    doc.get("words", type=Text).insert(0, words)
    doc.get("meta", type=Map)["title"] = "Accord"
    return doc


def head_revision() -> str:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    head = ScriptDirectory.from_config(config).get_current_head()
    assert head is not None
    return head


def test_a_created_text_loads_back_with_its_non_ascii_words(store: Store) -> None:
    doc = new_doc(WORDS)
    doc.get("words", type=Text).format(0, 11, {"i": True})  # formatting survives too

    text_id = store.create_text(
        doc.get_update(), title="Accord « test »", kind="treaty", origin="import"
    )

    loaded = Doc()
    loaded.apply_update(store.load(text_id))
    assert str(loaded.get("words", type=Text)) == WORDS
    assert loaded.get("words", type=Text).diff()[0] == ("Les Parties", {"i": True})
    assert loaded.get("meta", type=Map)["title"] == "Accord"
    [info] = store.list_texts()
    assert (info.id, info.title, info.kind) == (text_id, "Accord « test »", "treaty")
    assert info.created.tzinfo is not None and info.created == info.updated


def test_appended_updates_are_in_the_loaded_document(store: Store) -> None:
    doc = new_doc(WORDS)
    text_id = store.create_text(doc.get_update(), title="t", kind="treaty", origin="import")
    created = store.get_text(text_id).updated

    before = doc.get_state()
    doc.get("words", type=Text).insert(len(doc.get("words", type=Text)), " — 完")
    first = store.append_update(text_id, doc.get_update(before), origin="cli")
    before = doc.get_state()
    doc.get("words", type=Text).insert(0, "¶ ")
    second = store.append_update(text_id, doc.get_update(before), origin="conn-1")

    assert second > first
    assert words_of(store.load(text_id)) == f"¶ {WORDS} — 完"
    assert store.update_count(text_id) == 3
    assert store.get_text(text_id).updated > created


def test_a_snapshot_plus_later_updates_gives_the_same_document(store: Store) -> None:
    doc = new_doc(WORDS)
    text_id = store.create_text(doc.get_update(), title="t", kind="treaty", origin="import")
    before = doc.get_state()
    doc.get("words", type=Text).insert(0, "A ")
    store.append_update(text_id, doc.get_update(before), origin="cli")

    covered = store.compact(text_id)
    before = doc.get_state()
    doc.get("words", type=Text).insert(0, "B ")
    after_snapshot = store.append_update(text_id, doc.get_update(before), origin="cli")

    assert after_snapshot > covered
    assert words_of(store.load(text_id)) == f"B A {WORDS}"
    assert store.update_count(text_id) == 3  # compaction keeps the log


def test_a_group_of_updates_for_several_texts_is_appended_in_one_go(store: Store) -> None:
    first, second = new_doc("un"), new_doc("deux")
    ids = [
        store.create_text(doc.get_update(), title="t", kind="treaty", origin="import")
        for doc in (first, second)
    ]
    entries = []
    for n in range(3):
        for doc, text_id in zip((first, second), ids, strict=True):
            before = doc.get_state()
            doc.get("words", type=Text).insert(0, f"{n}·")
            entries.append((text_id, doc.get_update(before), f"conn-{n}"))

    log_ids = store.append_many(entries)

    assert log_ids == sorted(log_ids) and len(set(log_ids)) == 6
    assert words_of(store.load(ids[0])) == "2·1·0·un"
    assert words_of(store.load(ids[1])) == "2·1·0·deux"
    with pytest.raises(UnknownText, match="'gone'"):
        store.append_many([(ids[0], entries[0][1], "x"), ("gone", entries[0][1], "x")])
    assert store.update_count(ids[0]) == 4  # the refused group left nothing behind


def test_appended_entries_are_chained_to_the_one_before_them_in_their_text(
    store: Store,
) -> None:
    """What a scale-out process follows (`append_chain`): each entry with the id of the
    entry before it in the same text's log (here: its creation, at first); the text is
    marked as changed."""
    docs = {"a": new_doc("a"), "b": new_doc("b")}
    ids = {
        name: store.create_text(doc.get_update(), title=name, kind="treaty", origin="import")
        for name, doc in docs.items()
    }
    created = {name: store.get_text(text_id).updated for name, text_id in ids.items()}
    heads = store.log_heads(list(ids.values()))

    def entry(name: str, letter: str) -> tuple[str, bytes, str]:
        before = docs[name].get_state()
        docs[name].get("words", type=Text).insert(0, letter)
        return ids[name], docs[name].get_update(before), "w"

    first = store.append_chain([entry("a", "1"), entry("a", "2"), entry("b", "1")])
    second = store.append_chain([entry("b", "2"), entry("a", "3")])

    (a1, prev_a1), (a2, prev_a2), (b1, prev_b1) = first
    (b2, prev_b2), (a3, prev_a3) = second
    assert (prev_a1, prev_a2, prev_a3) == (heads[ids["a"]], a1, a2)
    assert (prev_b1, prev_b2) == (heads[ids["b"]], b1)
    assert [log_id for log_id, _ in store.read_log(ids["a"], heads[ids["a"]])] == [a1, a2, a3]
    assert [log_id for log_id, _ in store.read_log(ids["b"], heads[ids["b"]])] == [b1, b2]
    assert words_of(store.load(ids["a"])) == "321a"
    for name, text_id in ids.items():
        assert store.get_text(text_id).updated > created[name]


def test_a_snapshot_written_by_a_room_is_where_loading_starts(store: Store) -> None:
    doc = new_doc(WORDS)
    text_id = store.create_text(doc.get_update(), title="t", kind="treaty", origin="import")
    before = doc.get_state()
    doc.get("words", type=Text).insert(0, "A ")
    up_to = store.append_update(text_id, doc.get_update(before), origin="conn-1")

    # A snapshot claims to cover the log up to `up_to`: what it holds is what loads,
    # plus entries after it (here: none).
    store.write_snapshot(text_id, new_doc("as the room had it").get_update(), up_to)
    assert words_of(store.load(text_id)) == "as the room had it"
    with pytest.raises(InvalidUpdate):
        store.write_snapshot(text_id, b"\x00", up_to)


def test_texts_are_listed_oldest_first_with_distinct_ids(store: Store) -> None:
    ids = [
        store.create_text(
            new_doc(f"text {n}").get_update(), title=f"T{n}", kind="resolution", origin="import"
        )
        for n in range(3)
    ]
    assert [info.id for info in store.list_texts()] == ids
    assert len(set(ids)) == 3
    assert store.count_texts() == 3


@pytest.mark.parametrize("bad_id", ["nope", "", "x" * 500, "'; DROP TABLE texts; --"])
def test_an_unknown_id_is_a_clear_error_naming_the_id(store: Store, bad_id: str) -> None:
    with pytest.raises(UnknownText) as raised:
        store.load(bad_id)
    assert raised.value.text_id == bad_id
    assert str(raised.value) == f"no text with id {bad_id!r} in this database"
    with pytest.raises(UnknownText):
        store.append_update(bad_id, new_doc("x").get_update(), origin="cli")
    with pytest.raises(UnknownText):
        store.get_text(bad_id)
    assert store.list_texts() == []


def test_bytes_that_are_not_an_update_are_refused_and_nothing_is_stored(store: Store) -> None:
    with pytest.raises(InvalidUpdate, match="not a CRDT update"):
        store.create_text(b"\x01\x02garbage", title="t", kind="treaty", origin="import")
    assert store.list_texts() == []
    text_id = store.create_text(
        new_doc("x").get_update(), title="t", kind="treaty", origin="import"
    )
    with pytest.raises(InvalidUpdate):
        store.append_update(text_id, b"", origin="cli")
    assert store.update_count(text_id) == 1


def test_opening_an_empty_database_creates_the_schema_at_the_newest_revision(db_url: str) -> None:
    with Store(db_url) as store, store.engine.connect() as conn:
        assert {"texts", "updates", "snapshots", "alembic_version"} <= set(
            inspect(conn).get_table_names()
        )
        assert MigrationContext.configure(conn).get_current_revision() == head_revision()
        # The ORM classes and the migrations describe the same tables.
        assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []


def test_reopening_keeps_the_texts_and_does_not_migrate_again(db_url: str) -> None:
    with Store(db_url) as store:
        text_id = store.create_text(
            new_doc(WORDS).get_update(), title="t", kind="treaty", origin="import"
        )
    with Store(db_url) as reopened, reopened.engine.connect() as conn:
        assert words_of(reopened.load(text_id)) == WORDS
        assert MigrationContext.configure(conn).get_current_revision() == head_revision()


def test_several_processes_opening_a_new_database_at_once_all_succeed(db_url: str) -> None:
    errors: list[BaseException] = []
    start = threading.Barrier(4)

    def open_store() -> None:
        start.wait()
        try:
            Store(db_url).close()
        except BaseException as error:  # collected and reported below
            errors.append(error)

    threads = [threading.Thread(target=open_store, daemon=True) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "opening hung (lock wait?)"
    assert errors == []


def test_the_default_database_lives_in_the_data_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRAVAUX_DATA_DIR", str(tmp_path / "data"))
    assert default_url() == f"sqlite:///{tmp_path / 'data' / 'travaux.sqlite3'}"
    with Store() as store:
        store.create_text(new_doc("x").get_update(), title="t", kind="treaty", origin="cli")
    assert (tmp_path / "data" / "travaux.sqlite3").is_file()


def test_sqlite_runs_in_wal_mode_with_foreign_keys(tmp_path: Path) -> None:
    with Store(f"sqlite:///{tmp_path / 'db.sqlite3'}") as store, store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


@pytest.mark.parametrize(("setting", "pragma"), [(None, 1), ("normal", 1), ("FULL", 2)])
def test_sqlite_commits_reach_the_disk_as_the_operator_chose(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, setting: str | None, pragma: int
) -> None:
    # normal (1): every commit is in the WAL file before it returns (a killed process
    # loses nothing); full (2): the disk is flushed on every commit as well.
    if setting is not None:
        monkeypatch.setenv("TRAVAUX_SQLITE_SYNCHRONOUS", setting)
    with Store(f"sqlite:///{tmp_path / 'db.sqlite3'}") as store, store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == pragma


def test_an_unknown_sqlite_synchronous_setting_is_refused_by_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRAVAUX_SQLITE_SYNCHRONOUS", "sometimes")
    with pytest.raises(StoreUnavailable, match="TRAVAUX_SQLITE_SYNCHRONOUS='sometimes'"):
        Store(f"sqlite:///{tmp_path / 'db.sqlite3'}")
    assert not (tmp_path / "db.sqlite3").exists()  # nothing was created


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("not a url", "is not a database URL"),
        ("nosuchdb://host/x", "cannot use the database URL"),
        ("postgresql+psycopg://someone:secret@127.0.0.1:1/x", "cannot open the database"),
    ],
)
def test_a_database_that_cannot_be_used_is_a_clear_error(url: str, message: str) -> None:
    with pytest.raises(StoreUnavailable, match=message) as raised:
        Store(url)
    assert "secret" not in str(raised.value)


def test_a_text_has_scoped_documents_that_are_not_listed_as_texts(store: Store) -> None:
    text_id = store.create_text(new_doc("shared").get_update(), title="t", kind="k", origin="t")
    scoped = store.scoped_document(text_id, "workspace:EU")
    assert store.scoped_document(text_id, "workspace:EU") == scoped  # made once
    assert scoped != store.scoped_document(text_id, "balloons:all")
    assert store.load(scoped) == Doc().get_update()  # empty until someone writes
    assert [t.id for t in store.list_texts()] == [text_id] and store.count_texts() == 1
    assert store.scoped_documents(text_id) == {
        "workspace:EU": scoped,
        "balloons:all": scoped_document_id(text_id, "balloons:all"),
    }
    with pytest.raises(UnknownText):
        store.scoped_document("no-such-text", "workspace:EU")


def test_purging_a_scoped_document_keeps_its_state_and_drops_what_was_deleted(
    store: Store,
) -> None:
    text_id = store.create_text(new_doc("shared").get_update(), title="t", kind="k", origin="t")
    scoped = store.scoped_document(text_id, "balloons:all")
    doc = Doc()
    balloons = doc.get("balloons", type=Map)
    with doc.transaction():
        balloons["b1"] = Map({"words": Text("a secret idea"), "party": "EU"})
        balloons["b2"] = Map({"words": Text("a public idea"), "party": "EU"})
    first = store.append_update(scoped, doc.get_update(), "test")
    store.write_snapshot(scoped, doc.get_update(), first)
    del balloons["b1"]
    store.append_update(scoped, doc.get_update(), "test")

    store.purge(scoped, doc.get_update())

    kept = store.load(scoped)
    assert b"a secret idea" not in kept and b"a public idea" in kept
    assert store.update_count(scoped) == 1
    # The shared text's record is never rewritten.
    with pytest.raises(StoreError, match="never rewritten"):
        store.purge(text_id, new_doc("x").get_update())


def test_only_sqlite_commits_are_local_enough_for_the_event_loop(db_url: str) -> None:
    with Store(db_url) as store:
        assert store.local_commits == db_url.startswith("sqlite")
