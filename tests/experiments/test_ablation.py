"""The ablation's mechanisms per clearing mode and its markdown table."""

from __future__ import annotations

from experiments.ablation import CDA_MECHANISMS, MECHANISMS, mechanisms, table
from quantmarl.market import MarketConfig, default_params


def test_book_mechanisms_are_ablated_in_cda_mode_only():
    assert mechanisms("auction") == MECHANISMS
    cda = mechanisms("cda")
    assert list(cda) == [*MECHANISMS, *CDA_MECHANISMS]
    params = default_params(MarketConfig(clearing="cda"))
    keep = CDA_MECHANISMS["traders keep their resting orders (replace_orders 0)"](params)
    every = CDA_MECHANISMS["traders replace every order each step (replace_orders 1)"](params)
    late = CDA_MECHANISMS["quotes at a random place in the step (quote_priority 0)"](params)
    assert float(params.replace_orders) == 0.5 and float(params.quote_priority) == 1.0
    assert float(keep.replace_orders) == 0.0 and float(every.replace_orders) == 1.0
    assert float(late.quote_priority) == 0.0 and float(late.replace_orders) == 0.5
    assert keep.replace_orders.dtype == params.replace_orders.dtype


def test_table_marks_rows_a_column_does_not_have():
    results = {"(none: full model)": {"a / auction": [], "a / cda": ["kurtosis"]},
               "book row": {"a / cda": ["acf_1", "zero_share"]}}
    text = table(results, ["a / auction", "a / cda"])
    assert text.splitlines() == [
        "| mechanism off | a / auction | a / cda |",
        "| --- | --- | --- |",
        "| (none: full model) | none | kurtosis |",
        "| book row | - | acf_1, zero_share |",
    ]
