"""The results store: atomic rewrites as rows arrive, resume by configuration key, one campaign per directory."""

import json
import os
import stat

import pytest

from skycall.errors import SkycallError
from skycall.quality import store as store_mod
from skycall.quality.atomic import replace_dir, write_atomic
from skycall.quality.store import ROW_FILE, ResultStore


def _row(key, error=None, passed=True):
    return {"call": f"call-{key}", "passed": passed and error is None, "fail_reasons": "", "error": error,
            "dir": f"calls/call-{key}", "key": key}


def _outputs(key):
    return {"summary.json": json.dumps({"k": key}).encode(), "sub/x.bin": bytes([1, 2, 3])}


def _calls(*keys):
    return [(k, f"calls/call-{k}") for k in keys]


def _doc(out):
    return json.loads((out / "results.json").read_text())


def test_rows_written_as_they_arrive_in_campaign_order(tmp_path):
    with ResultStore(tmp_path, _calls("a", "b", "c")) as store:
        store.add(_row("c"), _outputs("c"), {"wall_s": 1.0, "worker": "w"})
        doc = _doc(tmp_path)
        assert {k: doc[k] for k in ("calls", "passed", "complete")} == {"calls": [_row("c")], "passed": False,
                                                                       "complete": False}
        assert set(doc) == {"calls", "passed", "complete", "distributions"}
        store.add(_row("a", error="ValueError: x (f.py:1 in g)"), {"error.txt": b"tb"}, {"wall_s": 2.0, "worker": "w"})
        store.add(_row("b"), _outputs("b"), {"wall_s": None, "worker": ""})
        store.flush()
    doc = _doc(tmp_path)
    assert [r["key"] for r in doc["calls"]] == ["a", "b", "c"] and doc["complete"] and not doc["passed"]
    assert (tmp_path / "calls" / "call-b" / "sub" / "x.bin").read_bytes() == bytes([1, 2, 3])
    assert (tmp_path / "results.csv").read_text().splitlines()[0].startswith("call,passed,fail_reasons,error,dir,key")
    assert json.loads((tmp_path / "timings.json").read_text())["call-a"] == {"wall_s": 2.0, "worker": "w"}
    assert json.loads((tmp_path / "calls" / "call-b" / ROW_FILE).read_text())["row"] == _row("b")
    umask = os.umask(0o022)
    os.umask(umask)
    call_b = tmp_path / "calls" / "call-b"
    for path in (tmp_path / "results.json", call_b, call_b / "summary.json"):
        assert stat.S_IMODE(path.stat().st_mode) == (0o777 if path.is_dir() else 0o666) & ~umask, path


def test_resume_reuses_finished_calls_whose_configuration_and_outputs_match(tmp_path):
    with ResultStore(tmp_path, _calls("a", "b", "c", "d")) as store:
        store.add(_row("a"), _outputs("a"), {"wall_s": 1.5, "worker": "w"})
        store.add(_row("b", error="RuntimeError: boom"), {"error.txt": b"tb"}, {})
        store.add(_row("c", passed=False), _outputs("c"), {})  # a finished call that failed its thresholds
        store.add(_row("d"), _outputs("d"), {})
        store.flush()
    (tmp_path / "calls" / "call-d" / "summary.json").unlink()  # its outputs are gone: it runs again
    with ResultStore(tmp_path, _calls("a", "b", "c", "d")) as store:
        assert "a" in store and "c" in store and "b" not in store and "d" not in store and len(store) == 2
        store.flush()
    assert [r["key"] for r in _doc(tmp_path)["calls"]] == ["a", "c"]
    assert json.loads((tmp_path / "timings.json").read_text())["call-a"] == {"wall_s": 1.5, "worker": "w"}
    with ResultStore(tmp_path, _calls("e")) as store:  # another campaign in the same directory
        store.flush()
    assert _doc(tmp_path)["calls"] == []
    with ResultStore(tmp_path, _calls("a", "c")) as store:  # the first one again: its calls are still done
        assert len(store) == 2
    with ResultStore(tmp_path, [("a2", "calls/call-a")]) as store:  # same name, other configuration: runs
        assert len(store) == 0
    with ResultStore(tmp_path, _calls("a", "c"), fresh=True) as store:
        assert len(store) == 0
    (tmp_path / "calls" / "call-c" / ROW_FILE).write_text('{"row": ')  # a torn file is no result
    with ResultStore(tmp_path, _calls("a", "c")) as store:
        assert len(store) == 1


def test_one_campaign_per_directory(tmp_path):
    with ResultStore(tmp_path, _calls("a")):
        with pytest.raises(SkycallError, match="another campaign is writing"):
            ResultStore(tmp_path, _calls("a"))
    with ResultStore(tmp_path, _calls("a")):
        pass
    (tmp_path / "file").write_text("")
    with pytest.raises(SkycallError, match="cannot write the campaign's results to"):
        ResultStore(tmp_path / "file" / "q", _calls("a"))


def test_rewrites_are_spaced_but_the_last_is_always_written(tmp_path, monkeypatch):
    monkeypatch.setattr(store_mod, "_REWRITE_SPACING", 1e9)
    with ResultStore(tmp_path, _calls("a", "b")) as store:
        store.add(_row("a"), _outputs("a"), {})
        store.add(_row("b"), _outputs("b"), {})
        assert [r["key"] for r in _doc(tmp_path)["calls"]] == ["a"]  # the second rewrite came too soon
        store.flush()
    assert [r["key"] for r in _doc(tmp_path)["calls"]] == ["a", "b"]


def test_interrupted_writes_leave_the_old_file_and_tree(tmp_path, monkeypatch):
    write_atomic(tmp_path / "results.json", "old")
    replace_dir(tmp_path / "calls" / "x", {"a.txt": b"old", "gone.txt": b"old"})

    def crash(src, dst):
        raise KeyboardInterrupt  # e.g. a second Ctrl-C just before the rename

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(KeyboardInterrupt):
        write_atomic(tmp_path / "results.json", "new" * 1000)
    with pytest.raises(KeyboardInterrupt):
        replace_dir(tmp_path / "calls" / "x", {"a.txt": b"new"})
    monkeypatch.undo()
    assert (tmp_path / "results.json").read_text() == "old"
    assert sorted(p.name for p in (tmp_path / "calls").iterdir()) == ["x"]  # no temp files or trees left
    assert sorted(p.name for p in tmp_path.iterdir()) == ["calls", "results.json"]
    replace_dir(tmp_path / "calls" / "x", {"a.txt": b"new"})
    assert [p.name for p in (tmp_path / "calls" / "x").iterdir()] == ["a.txt"]  # the old tree is gone whole
    with pytest.raises(ValueError, match="leaves its call directory"):
        replace_dir(tmp_path / "calls" / "y", {"../../evil": b""})
    assert not (tmp_path / "evil").exists() and not (tmp_path / "calls" / "y").exists()
