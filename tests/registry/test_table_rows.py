"""TableRows against a real Azurite: what it writes, the SDK reads back the same, and the other
way round; conditions and missing rows raise the SDK's own exceptions; pages resume."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from azure.core.exceptions import ResourceExistsError, ResourceModifiedError, ResourceNotFoundError
from azure.data.tables import EdmType, EntityProperty, UpdateMode
from azure.data.tables.aio import TableClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared.engine import Engine
from shared.store.rows import Row, TableRows, decode, with_parameters

TABLE = "rowstest"
FIXTURE_SCOPE = HealthCheck.function_scoped_fixture  # one engine serves a test's examples

keys = st.text(  # what Table storage allows in a key
    st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="/\\#?"),
    min_size=1,
    max_size=40,
)
values = st.one_of(
    st.text(st.characters(blacklist_categories=("Cs",)), max_size=60),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=False),
    st.binary(max_size=200),
    st.datetimes(
        min_value=datetime(1901, 1, 1), max_value=datetime(9000, 1, 1), timezones=st.just(UTC)
    ),
)
properties = st.dictionaries(
    st.from_regex(r"[A-Za-z][A-Za-z0-9]{0,20}", fullmatch=True).filter(
        lambda name: name not in ("PartitionKey", "RowKey", "Timestamp")
    ),
    values,
    max_size=8,
)


async def _both(engine: Engine) -> tuple[TableRows, TableClient]:
    return await engine.tables.rows(TABLE), await engine.tables.get(TABLE)


def _sdk_value(value: Any) -> Any:
    """``value`` as the SDK must be given it: an int beyond Int32 needs its type spelled out."""
    if isinstance(value, int) and not isinstance(value, bool) and not -(2**31) <= value < 2**31:
        return EntityProperty(value, EdmType.INT64)
    return value


def _plain(value: Any) -> Any:
    """What the SDK reads back, as the plain value TableRows answers."""
    if isinstance(value, EntityProperty):
        return value.value
    if isinstance(value, datetime):
        return datetime(*value.timetuple()[:6], value.microsecond, tzinfo=UTC)
    return value


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(partition=keys, row=keys, props=properties)
async def test_what_rows_writes_the_sdk_reads_and_back(
    engine: Engine, partition: str, row: str, props: dict[str, Any]
) -> None:
    rows, sdk = await _both(engine)
    entity = {"PartitionKey": partition, "RowKey": row, **props}
    etag = await rows.upsert(entity)
    read = await sdk.get_entity(partition, row)
    assert read.metadata["etag"] == etag
    assert {k: _plain(v) for k, v in read.items()} == entity

    await sdk.upsert_entity({k: _sdk_value(v) for k, v in entity.items()}, mode=UpdateMode.REPLACE)
    again = await rows.get(partition, row)
    assert dict(again) == entity
    assert again.etag == (await sdk.get_entity(partition, row)).metadata["etag"]


async def test_conditions_and_missing_rows_raise_the_sdk_exceptions(engine: Engine) -> None:
    rows, _ = await _both(engine)
    first = await rows.insert({"PartitionKey": "p", "RowKey": "cond", "N": 1})
    with pytest.raises(ResourceExistsError):
        await rows.insert({"PartitionKey": "p", "RowKey": "cond", "N": 2})
    second = await rows.replace({"PartitionKey": "p", "RowKey": "cond", "N": 3}, first)
    with pytest.raises(ResourceModifiedError):
        await rows.replace({"PartitionKey": "p", "RowKey": "cond", "N": 4}, first)
    with pytest.raises(ResourceModifiedError):
        await rows.delete("p", "cond", first)
    assert (await rows.get("p", "cond"))["N"] == 3
    await rows.delete("p", "cond", second)
    await rows.delete("p", "cond")  # already gone: no error, as with the SDK
    with pytest.raises(ResourceNotFoundError):
        await rows.get("p", "cond")
    with pytest.raises(ResourceNotFoundError):
        await rows.replace({"PartitionKey": "p", "RowKey": "cond", "N": 5}, second)


async def test_a_merge_keeps_the_other_properties_and_honours_its_condition(
    engine: Engine,
) -> None:
    rows, sdk = await _both(engine)
    first = await rows.insert({"PartitionKey": "m", "RowKey": "row", "N": 1, "Kept": "yes"})
    second = await rows.merge({"PartitionKey": "m", "RowKey": "row", "N": 2, "New": b"\x01"})
    assert dict(await rows.get("m", "row")) == {
        "PartitionKey": "m",
        "RowKey": "row",
        "N": 2,
        "Kept": "yes",
        "New": b"\x01",
    }
    assert second == (await sdk.get_entity("m", "row")).metadata["etag"]
    with pytest.raises(ResourceModifiedError):
        await rows.merge({"PartitionKey": "m", "RowKey": "row", "N": 3}, first)
    with pytest.raises(ResourceNotFoundError):
        await rows.merge({"PartitionKey": "m", "RowKey": "absent", "N": 1})
    assert (await rows.get("m", "row"))["N"] == 2


async def test_pages_follow_the_continuation_in_key_order(engine: Engine) -> None:
    rows, _ = await _both(engine)
    for n in range(25):
        await rows.upsert({"PartitionKey": "pages's", "RowKey": f"r{n:03d}", "V": b"\x00" * n})
    query = with_parameters(
        "PartitionKey eq @pk and RowKey gt @after", {"pk": "pages's", "after": "r004"}
    )
    seen: list[Row] = []
    resume = None
    while True:
        page, resume = await rows.page(query, top=7, select=["RowKey", "V"], resume=resume)
        assert len(page) <= 7
        seen += page
        if resume is None:
            break
    assert [r["RowKey"] for r in seen] == [f"r{n:03d}" for n in range(5, 25)]
    assert all(r.etag == "" for r in seen)  # read without metadata: binary stays base64 text
    typed, _ = await rows.page(query, top=1, metadata=True)
    assert typed[0]["V"] == b"\x00" * 5
    assert typed[0].etag
    whole, _ = await rows.page(query, top=1)  # every property, none of the service's own
    assert whole == [{"PartitionKey": "pages's", "RowKey": "r005", "V": "AAAAAAA="}]


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(partition=keys, row=keys)
async def test_a_page_finds_any_key_its_filter_names(
    engine: Engine, partition: str, row: str
) -> None:
    """Filter values reach the service whole, whatever they hold (&, +, %, #, quotes...)."""
    rows, _ = await _both(engine)
    await rows.upsert({"PartitionKey": partition, "RowKey": row, "N": 1})
    query = with_parameters("PartitionKey eq @pk and RowKey eq @rk", {"pk": partition, "rk": row})
    page, resume = await rows.page(query, top=10, select=["RowKey", "N"])
    assert [(r["RowKey"], r["N"]) for r in page] == [(row, 1)]
    assert resume is None
    assert (await rows.get(partition, row, select=["N"]))["N"] == 1


def test_decode_reads_seven_fraction_digits_and_drops_the_service_properties() -> None:
    row = decode(
        {
            "odata.etag": 'W/"1"',
            "Timestamp": "2026-12-06T09:00:00.1234567Z",
            "When": "2026-12-06T09:00:00.1234567Z",
            "When@odata.type": "Edm.DateTime",
            "Big": "9007199254740993",
            "Big@odata.type": "Edm.Int64",
        }
    )
    assert row == {"When": datetime(2026, 12, 6, 9, 0, 0, 123456, tzinfo=UTC), "Big": 2**53 + 1}
    assert row.etag == 'W/"1"'
