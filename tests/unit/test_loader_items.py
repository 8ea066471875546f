"""CSV records -> rows-table items: what a user finds in DynamoDB for each shape of file."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.pipelines.table_loader.items import (
    MAX_ITEM_BYTES,
    ItemMaker,
    Skipped,
    attribute_names,
    records,
)

SOURCE = "input-bucket/drop/orders.csv"


def cells(item: object) -> dict[str, dict[str, str]]:
    """An item without its key attributes."""
    assert isinstance(item, dict)
    return {k: v for k, v in item.items() if k not in ("source", "row")}


# --------------------------------------------------------------------------- keys and values


def test_an_item_is_keyed_by_source_and_record_number() -> None:
    item = ItemMaker(SOURCE, ["name"]).item(2, ["Ada"])
    assert item == {"source": {"S": SOURCE}, "row": {"N": "2"}, "name": {"S": "Ada"}}


def test_cells_are_the_exact_text_and_empty_cells_are_omitted() -> None:
    maker = ItemMaker(SOURCE, ["Order Id", "City", "Postal Code", "Note"])
    item = maker.item(7, ["CA-1", " Boston ", "02108", ""])
    assert cells(item) == {
        "order_id": {"S": "CA-1"},
        "city": {"S": " Boston "},  # not trimmed
        "postal_code": {"S": "02108"},  # not a number column: zeros kept
    }


def test_number_columns_are_numbers_when_the_row_contract_accepts_them() -> None:
    maker = ItemMaker(SOURCE, ["Cost Price", "list-price", "QUANTITY", "discount_percent"])
    assert cells(maker.item(2, ["10.50", "1e3", "3", "12.5"])) == {
        "cost_price": {"N": "10.5"},
        "list_price": {"N": "1000"},  # plain digits, not 1E+3
        "quantity": {"N": "3"},
        "discount_percent": {"N": "12.5"},
    }


@pytest.mark.parametrize(
    ("column", "text"),
    [
        ("quantity", "2.5"),  # not a whole number
        ("quantity", "0"),  # below 1
        ("discount_percent", "150"),  # above 100
        ("cost_price", "-5.00"),  # negative
        ("list_price", "n/a"),
        ("list_price", " 5"),  # not a plain number
        ("list_price", "1" * 16),  # too large to compute exactly
    ],
)
def test_a_number_cell_the_contract_rejects_is_kept_as_its_text(column: str, text: str) -> None:
    assert cells(ItemMaker(SOURCE, [column]).item(2, [text])) == {column: {"S": text}}


def test_a_number_column_is_a_string_in_a_file_with_other_columns() -> None:
    # seed002's people file: `age` is not an orders number column.
    maker = ItemMaker(SOURCE, ["name", "age", "email", "city"])
    assert cells(maker.item(2, ["John Doe", "30", "john@example.com", "New York"])) == {
        "name": {"S": "John Doe"},
        "age": {"S": "30"},
        "email": {"S": "john@example.com"},
        "city": {"S": "New York"},
    }


# --------------------------------------------------------------------------- hostile headers


@pytest.mark.parametrize(
    ("header", "names"),
    [
        (["Sub Category", "sub-category"], ["sub_category", "sub_category_2"]),
        (["source", "row", "Row"], ["source_1", "row_2", "row_3"]),
        (["a", "", "  "], ["a", "column_2", "column_3"]),
        (["a", "a", "a_2"], ["a", "a_2_2", "a_2"]),  # a later column keeps its own name
        (["column_2", ""], ["column_2", "column_2_2"]),
        (["x" * 300, "y"], ["column_1", "y"]),  # too long for an attribute name
        (["é" * 100], ["é" * 100]),  # 200 bytes: fits
    ],
)
def test_header_names_that_would_collide_or_are_unusable_get_distinct_names(
    header: list[str], names: list[str]
) -> None:
    assert attribute_names(header) == names


@given(st.lists(st.sampled_from(["a", "A", "a_2", "", "source", "row", "column_1", "b b"])))
def test_attribute_names_are_always_distinct_non_empty_and_never_a_key(header: list[str]) -> None:
    names = attribute_names(header)
    assert len(names) == len(header) == len(set(names))
    assert all(names) and not {"source", "row"} & set(names)
    assert attribute_names(header) == names  # deterministic


def test_a_duplicate_number_column_is_not_typed() -> None:
    maker = ItemMaker(SOURCE, ["quantity", "Quantity"])
    assert cells(maker.item(2, ["2", "3"])) == {"quantity": {"N": "2"}, "quantity_2": {"S": "3"}}


# --------------------------------------------------------------------------- ragged records


def test_extra_fields_go_under_their_position_and_missing_ones_are_omitted() -> None:
    maker = ItemMaker(SOURCE, ["a", "b"])
    assert cells(maker.item(2, ["1", "2", "3", "", "5"])) == {
        "a": {"S": "1"},
        "b": {"S": "2"},
        "column_3": {"S": "3"},
        "column_5": {"S": "5"},
    }
    assert cells(maker.item(3, ["1"])) == {"a": {"S": "1"}}


def test_an_extra_field_does_not_take_a_header_name() -> None:
    maker = ItemMaker(SOURCE, ["column_2"])
    assert cells(maker.item(2, ["x", "y"])) == {"column_2": {"S": "x"}, "column_2_2": {"S": "y"}}


def test_a_header_with_no_fields_puts_every_cell_under_its_position() -> None:
    assert cells(ItemMaker(SOURCE, []).item(2, ["x", "y"])) == {
        "column_1": {"S": "x"},
        "column_2": {"S": "y"},
    }


# --------------------------------------------------------------------------- the size limit


def _fixed(source: str, row: int, name: str) -> int:
    return len("source") + len(source.encode()) + len("row") + len(str(row)) + 1 + len(name)


def test_an_item_at_the_size_limit_is_kept_and_one_byte_more_is_skipped() -> None:
    maker = ItemMaker(SOURCE, ["text"])
    room = MAX_ITEM_BYTES - _fixed(SOURCE, 12, "text")
    at_limit = maker.item(12, ["x" * room])
    assert isinstance(at_limit, dict) and ItemMaker.size(at_limit) == MAX_ITEM_BYTES

    over = maker.item(12, ["x" * (room + 1)])
    assert isinstance(over, Skipped)
    assert over.row == 12
    assert f"{MAX_ITEM_BYTES + 1:,} bytes" in over.reason
    assert over.note().startswith("row 12: the item would be")


def test_the_size_counts_utf8_bytes_of_names_and_values() -> None:
    maker = ItemMaker(SOURCE, ["città"])
    room = MAX_ITEM_BYTES - _fixed(SOURCE, 2, "città") - 1  # "à" is two bytes
    assert isinstance(maker.item(2, ["é" * (room // 2)]), dict)
    assert isinstance(maker.item(2, ["é" * (room // 2 + 1)]), Skipped)


def test_many_small_cells_count_towards_the_limit_too() -> None:
    header = [f"c{i}" for i in range(50_000)]
    assert isinstance(ItemMaker(SOURCE, header).item(2, ["12345"] * 50_000), Skipped)


# --------------------------------------------------------------------------- records


def test_records_keep_quoted_commas_quotes_and_line_ends_and_skip_blank_lines() -> None:
    data = b'a,"b,c","say ""hi"""\r\n\r\n"multi\nline",x\rlast\n'
    assert list(records(data)) == [
        ["a", "b,c", 'say "hi"'],
        ["multi\nline", "x"],
        ["last"],
    ]


def test_records_of_a_chunk_are_numbered_from_its_first_row() -> None:
    maker = ItemMaker(SOURCE, ["v"])
    made = list(maker.items(b"a\n\nb\nc\n", first_row=40))
    assert [i["row"]["N"] for i in made if isinstance(i, dict)] == ["40", "41", "42"]


def test_a_cell_longer_than_the_csv_modules_default_limit_is_read() -> None:
    long = "x" * 300_000
    assert list(records(f"{long},y\n".encode())) == [[long, "y"]]
