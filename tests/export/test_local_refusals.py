"""The local runner refuses what start_training would refuse before any export runs.

No Spark is started: a session that is never to be touched is handed in, so any use of
it fails the test.
"""
from __future__ import annotations

import json
import os

import export_golden as g
import pytest

from personalize_export.finalize import HandOffRefused
from personalize_export.local_workflow import main, run_local_workflow


class _UntouchableSpark:
    def __getattr__(self, name):
        raise AssertionError("Spark was used (%s) before the hand-off inputs were checked" % name)


def _template(tmp_path):
    path = tmp_path / "template.json"
    path.write_text(json.dumps({"solutions": []}))
    return str(path)


@pytest.mark.parametrize("keep", [0, -1])
def test_keep_exports_below_one_is_refused_before_any_export(tmp_path, keep):
    root = tmp_path / "root"
    with pytest.raises(ValueError, match="--keep-exports must be an integer of at least 1"):
        run_local_workflow(g.SPEC, str(root), _template(tmp_path), str(tmp_path / "p.json"), spark=_UntouchableSpark(),
                           progress=lambda _: None, keep_exports=keep)
    assert not root.exists()


@pytest.mark.parametrize("value", ["0", "-3", "two"])
def test_the_cli_refuses_keep_exports_below_one_as_an_argument_error(tmp_path, capsys, value):
    with pytest.raises(SystemExit) as exit_:
        main(["--spec", "unused.yaml", "--export-root", str(tmp_path / "root"), "--params-template", _template(tmp_path),
              "--params-out", str(tmp_path / "p.json"), "--keep-exports", value])
    assert exit_.value.code == 2
    assert "--keep-exports" in capsys.readouterr().err
    assert not (tmp_path / "root").exists()


def test_params_out_that_is_a_directory_is_refused_before_any_export(tmp_path):
    root = tmp_path / "root"
    (tmp_path / "params").mkdir()
    with pytest.raises(HandOffRefused, match="is a directory"):
        run_local_workflow(g.SPEC, str(root), _template(tmp_path), str(tmp_path / "params"), spark=_UntouchableSpark(),
                           progress=lambda _: None)
    assert not root.exists()


def test_an_unreadable_params_template_is_refused_before_any_export(tmp_path):
    with pytest.raises(HandOffRefused, match="cannot be read"):
        run_local_workflow(g.SPEC, str(tmp_path / "root"), str(tmp_path / "missing.json"), str(tmp_path / "p.json"),
                           spark=_UntouchableSpark(), progress=lambda _: None)
    assert not os.path.exists(tmp_path / "root")
