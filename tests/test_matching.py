"""Resolution and enrichment on plain data: no file, database or index involved."""
from update.lines import parse_line
from update.matching import (
    ProductFacts,
    ProductState,
    brand_variation_candidate,
    carries,
    enrich,
    new_product_state,
    plan_chunk,
    shared_key_warnings,
)

from .factories import product

COMPANY = 1


def lines(*products):
    return [parse_line(i + 1, {"product": p}) for i, p in enumerate(products)]


def empty_hits():
    return {"barcode": {}, "sku": {}, "nnbs": {}}


def test_first_hit_wins_in_barcode_sku_nnbs_order():
    [line] = lines(product("a", barcode="9300000000101", sku="S1"))
    hits = {"barcode": {"9300000000101": 10}, "sku": {(COMPANY, "S1"): 20}, "nnbs": {"a": 30}}
    assert plan_chunk([line], COMPANY, hits).matched == [(line, 10, "barcode")]
    del hits["barcode"]["9300000000101"]
    assert plan_chunk([line], COMPANY, hits).matched == [(line, 20, "sku")]
    del hits["sku"][(COMPANY, "S1")]
    assert plan_chunk([line], COMPANY, hits).matched == [(line, 30, "nnbs")]


def test_sku_of_another_company_does_not_match():
    [line] = lines(product("a", sku="S1"))
    plan = plan_chunk([line], COMPANY, {"barcode": {}, "sku": {(2, "S1"): 5}, "nnbs": {}})
    assert plan.matched == [] and plan.new_groups == [[line]]


def test_lines_sharing_an_sku_or_barcode_become_one_new_product():
    a, b, c, d = lines(product("a", sku="S1"), product("b", sku="S1"),
                       product("c", sku="S2", barcode="9300000000002"), product("d", sku="S3", barcode="9300000000002"))
    plan = plan_chunk([a, b, c, d], COMPANY, empty_hits())
    assert plan.new_groups == [[a, b], [c, d]]


def test_unresolved_line_sharing_an_sku_with_a_matched_line_joins_its_product():
    a, b = lines(product("a", sku="S1"), product("b", sku="S1"))
    hits = empty_hits()
    hits["nnbs"]["b"] = 42
    plan = plan_chunk([a, b], COMPANY, hits)
    assert plan.matched == [(a, 42, None), (b, 42, "nnbs")]
    assert plan.new_groups == []


def test_carries_checks_the_product_as_the_database_has_it():
    facts = ProductFacts(id=1, barcode="9300000000101", nnbs="a", variations=["a2"])
    assert carries(facts, "barcode", "9300000000101")
    assert carries(facts, "nnbs", "a2")
    assert not carries(facts, "nnbs", "b")
    assert not carries(None, "nnbs", "a")


def test_enrich_fills_only_empty_fields_and_grows_lists():
    state = ProductState(id=1, nnbs="a", url="https://kept", sizes=["1kg"], brand_id=None,
                         brand_name_company_pairs=[["ACME", "aldi"]])
    [line] = lines(product("a-spaced", url="https://new", image_url="https://img", sizes=["1kg", "pk"],
                           barcode="9300000000101", brand="Acme Ltd"))
    changed = enrich(state, line, "aldi", barcode_free=True, nnbs_free=True, brand_id=7)
    assert changed == {"barcode", "image_url", "sizes", "normalized_name_brand_size_variations", "brand"}
    assert state.url == "https://kept"
    assert state.sizes == ["1kg", "pk"]
    assert state.variations == ["a-spaced"]
    assert state.brand_name_company_pairs == [["ACME", "aldi"]]  # first raw brand per company kept
    assert enrich(state, line, "iga", barcode_free=True, nnbs_free=True, brand_id=7) == {"brand_name_company_pairs"}
    assert enrich(state, line, "iga", barcode_free=True, nnbs_free=True, brand_id=7) == set()


def test_enrich_never_takes_a_key_another_product_owns():
    state = ProductState(id=1, nnbs="a")
    [line] = lines(product("b", barcode="9300000000101"))
    changed = enrich(state, line, "aldi", barcode_free=False, nnbs_free=False, brand_id=None)
    assert state.barcode is None and state.variations == []
    assert "barcode" not in changed and "normalized_name_brand_size_variations" not in changed


def test_new_product_takes_first_line_and_the_rest_as_variations():
    group = lines(product("a", sku="S1", sizes=["1kg"]), product("a-other", sku="S1", sizes=["1000g"]))
    state = new_product_state(group, "aldi", {"acme": 3}, lambda kind, key: True)
    assert (state.nnbs, state.variations, state.sizes, state.brand_id) == ("a", ["a-other"], ["1kg", "1000g"], 3)


def test_brand_variation_only_from_barcode_matches():
    assert brand_variation_candidate("barcode", "acmeltd", "acme")
    assert not brand_variation_candidate("sku", "acmeltd", "acme")
    assert not brand_variation_candidate("barcode", "acme", "acme")
    assert not brand_variation_candidate("barcode", "", "acme")


def test_lines_differing_only_in_spaces_of_their_nnbs_are_one_new_product():
    a, b, c = lines(product("milkfull2l", sku="M1"), product("milk full 2l", sku="M2"), product("oats", sku="O1"))
    assert plan_chunk([a, b, c], COMPANY, empty_hits()).new_groups == [[a, b], [c]]


def test_matched_lines_keep_the_chunks_order_not_line_numbers():
    # A group that came out late (its last line is far down the file) carries low line numbers.
    late_group, early = lines(product("a", sku="S1")), lines(product("b", sku="S2"))
    early[0].line_no = 600
    hits = {"barcode": {}, "sku": {(COMPANY, "S1"): 1, (COMPANY, "S2"): 2}, "nnbs": {}}
    plan = plan_chunk([early[0], late_group[0]], COMPANY, hits)
    assert [line.nnbs for line, _, _ in plan.matched] == ["b", "a"]


def test_shared_key_warnings_say_what_became_of_the_lines():
    a, b, c = lines(product("a", sku="S1", barcode="9300000000019"), product("b", sku="S2", barcode="9300000000019"),
                    product("c", sku="S1"))
    warned = shared_key_warnings([a, b, c], {id(a): 10, id(b): 20, id(c): 10})
    assert [w.message for w in warned[2]] == [
        "barcode '9300000000019' also on line 1 under another NNBS, but their other keys already named two "
        "products (10 and 20): kept as two"]
    assert [w.message for w in warned[3]] == ["sku 'S1' also on line 1 under another NNBS: both are one product"]
    assert 1 not in warned
