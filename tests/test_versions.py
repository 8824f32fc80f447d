import os

import pyoxigraph as ox
import pytest

from cohesio import versions


def _stage(store_dir, triples=1):
    staged = versions.staging_dir(store_dir)
    store = ox.Store(str(staged / versions.STORE))
    for i in range(triples):
        store.add(ox.Quad(ox.NamedNode(f"http://x/{i}"), ox.NamedNode("http://p"), ox.Literal("v")))
    store.flush()
    del store
    return staged


def test_no_build_yet(tmp_path):
    with pytest.raises(versions.NoBuildError, match="cohesio build"):
        versions.current(tmp_path)


def test_publish_switches_current_atomically(tmp_path):
    first = versions.publish(tmp_path, _stage(tmp_path, 1), "v1", {"version": "v1"})
    assert versions.current(tmp_path).id == "v1"
    assert len(versions.current(tmp_path).open_store()) == 1
    versions.publish(tmp_path, _stage(tmp_path, 2), "v2", {"version": "v2"})
    assert versions.current(tmp_path).id == "v2"
    assert len(versions.current(tmp_path).open_store()) == 2
    # the old version is still there, untouched, for rollback
    assert len(first.open_store()) == 1
    assert os.readlink(tmp_path / "current") == "versions/v2"


def test_prune_keeps_current_and_recent(tmp_path):
    for i in range(5):
        versions.publish(tmp_path, _stage(tmp_path), f"v{i}", {"version": f"v{i}"})
    removed = versions.prune(tmp_path, keep=2)
    left = sorted(p.name for p in (tmp_path / "versions").iterdir())
    assert left == ["v2", "v3", "v4"]
    assert len(removed) == 2
    assert versions.current(tmp_path).id == "v4"


def test_prune_removes_abandoned_staging(tmp_path):
    (tmp_path / "versions" / ".building-999999999").mkdir(parents=True)
    versions.prune(tmp_path, keep=1)
    assert not (tmp_path / "versions" / ".building-999999999").exists()


def test_publishing_the_same_version_id_twice_never_replaces_the_live_directory(tmp_path):
    """Two builds of the same inputs within one second get the same id: the second one is published
    under another name, and the first one's files (which a server may be reading) stay."""
    import pyoxigraph as ox

    from cohesio import versions

    def stage(marker: str):
        staged = versions.staging_dir(tmp_path)
        store = ox.Store(str(staged / versions.STORE))
        store.add(ox.Quad(ox.NamedNode("http://x/" + marker), ox.NamedNode("http://x/p"), ox.Literal(marker)))
        del store
        return staged

    first = versions.publish(tmp_path, stage("a"), "20260101T000000Z-abc", {"counts": {}})
    second = versions.publish(tmp_path, stage("b"), "20260101T000000Z-abc", {"counts": {}})
    assert first.path.is_dir() and second.path != first.path
    assert second.id == second.path.name == "20260101T000000Z-abc-2"
    assert versions.current(tmp_path).id == second.id
    assert versions.current(tmp_path).manifest["version"] == second.id
