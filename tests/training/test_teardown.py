"""A full teardown of what a run created, against the fake Personalize, with the
handlers' own teardown code (make teardown runs the same)."""
from __future__ import annotations

import pytest

from personalize_pipeline.cleanup import Teardown, TeardownRefused

from .exports import full_params, make_export


def test_teardown_deletes_everything_the_run_created_in_dependency_order(pipeline, tmp_path):
    result = pipeline.run(full_params(), make_export(tmp_path))
    assert result.status == "SUCCEEDED", result.cause
    fake = pipeline.fake
    teardown = Teardown(fake.client(), sleep=pipeline.clock.advance)

    deleted = teardown.run("shop", pipeline.partition, pipeline.region, pipeline.account)

    kinds = [d["kind"] for d in deleted]
    assert kinds.index("campaign") < min(i for i, k in enumerate(kinds) if k == "solution")
    assert max(i for i, k in enumerate(kinds) if k in ("solution", "dataset", "event_tracker")) < kinds.index("dataset_group")
    assert kinds[-3:] == ["schema"] * 3
    assert sorted(kinds) == sorted(["campaign", "filter", "event_tracker", "solution", "solution", "dataset", "dataset", "dataset",
                                    "dataset_group", "schema", "schema", "schema"])
    # Nothing of the run is left, and each deletion was waited for (the fake refuses the
    # next step while the one before is still DELETE PENDING / IN_PROGRESS).
    assert fake.resources == {}
    # A second teardown finds nothing to do.
    assert Teardown(fake.client(), sleep=pipeline.clock.advance).run("shop", pipeline.partition, pipeline.region, pipeline.account) == []


def test_teardown_refuses_a_resource_the_pipeline_did_not_make(pipeline, tmp_path):
    result = pipeline.run(full_params(), make_export(tmp_path))
    assert result.status == "SUCCEEDED", result.cause
    api = pipeline.fake.client()
    group = result.summary["datasetGroupArn"]
    api.create_filter(name="by-hand", datasetGroupArn=group, filterExpression='EXCLUDE ItemID WHERE Items.CATEGORY IN ("x")')
    with pytest.raises(TeardownRefused, match="by-hand"):
        Teardown(api, sleep=pipeline.clock.advance).run("shop", pipeline.partition, pipeline.region, pipeline.account)
    assert pipeline.fake.describe(group)["status"] == "ACTIVE"
