"""The export spec's domain: an export that feeds a Domain dataset group is
refused at load when a dataset lacks what the domain's schema requires
(stdlib only: also runs under Python 3.9)."""
from __future__ import annotations

import copy

import pytest
from export_fixtures import SPEC

from export_spec import SpecError, load_spec


def ecommerce_spec() -> dict:
    spec = copy.deepcopy(SPEC)
    spec["domain"] = "ECOMMERCE"
    spec["datasets"]["items"]["fields"] = {
        "ITEM_ID": "sku",
        "PRICE": {"from": "price", "type": "float"},
        "CATEGORY_L1": {"from": "category", "categorical": True},
    }
    return spec


def test_a_spec_with_the_domain_fields_loads_and_knows_its_domain():
    assert load_spec(ecommerce_spec()).domain == "ECOMMERCE"
    assert load_spec(copy.deepcopy(SPEC)).domain is None


@pytest.mark.parametrize("change, message", [
    (lambda s: s["datasets"]["items"]["fields"].pop("PRICE"),
     "datasets.items.fields.PRICE: is required by the ECOMMERCE domain (a float field)"),
    (lambda s: s["datasets"]["items"]["fields"].update(PRICE={"from": "price", "type": "double"}),
     'datasets.items.fields.PRICE.type: must be "float" in the ECOMMERCE domain'),
    (lambda s: s["datasets"]["items"]["fields"].update(PRICE={"from": "price", "type": "float", "nullable": True}),
     "datasets.items.fields.PRICE.nullable: must be false: PRICE is a required field of the ECOMMERCE domain"),
    (lambda s: s["datasets"]["items"]["fields"].update(CATEGORY_L1={"from": "category", "textual": True}),
     "datasets.items.fields.CATEGORY_L1.categorical: must be true in the ECOMMERCE domain"),
    (lambda s: s["datasets"]["interactions"].update(
        fields={"USER_ID": "customer_id", "ITEM_ID": "sku", "TIMESTAMP": "ordered_at"}, event_types=None),
     "datasets.interactions.fields.EVENT_TYPE: is required by the ECOMMERCE domain (a string field)"),
    (lambda s: s.update(domain="RETAIL"), "domain: must be one of"),
])
def test_ecommerce_refusals_name_the_field(change, message):
    spec = ecommerce_spec()
    change(spec)
    with pytest.raises(SpecError) as info:
        load_spec(spec)
    assert str(info.value).startswith(message), str(info.value)


def test_video_on_demand_needs_genres_and_creation_timestamp():
    spec = ecommerce_spec()
    spec["domain"] = "VIDEO_ON_DEMAND"
    with pytest.raises(SpecError, match=r"^datasets\.items\.fields\.GENRES: is required by the VIDEO_ON_DEMAND domain"):
        load_spec(spec)
    spec["datasets"]["items"]["fields"]["GENRES"] = {"from": "genres", "categorical": True}
    with pytest.raises(SpecError, match=r"^datasets\.items\.fields\.CREATION_TIMESTAMP: is required"):
        load_spec(spec)
    spec["datasets"]["items"]["fields"]["CREATION_TIMESTAMP"] = "created_at"
    assert load_spec(spec).domain == "VIDEO_ON_DEMAND"
