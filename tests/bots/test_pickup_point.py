"""The pickup point: pushed with the order, returned and documented by the API, told by the
bot and by the `ready_for_pickup` notification."""

from __future__ import annotations

from typing import Any

from tests.fakes.telegram_api import FakeTelegramAPI
from tests.support import RunningHub
from tests.support.api import Api, customer_writes
from tests.support.orders import bot_answer

PICKUP = "Пункт выдачи №17, ул. Ленина, 5"


def order(status: str, **fields: Any) -> dict[str, Any]:
    return {"customer": {"telegram_id": 9501}, "status": status, **fields}


async def test_the_pickup_point_is_stored_returned_cleared_and_documented(api: Api) -> None:
    created = await api.ok("PUT", "/orders/9001", order("processing", pickup_point=PICKUP), 201)
    assert created["pickup_point"] == PICKUP
    assert (await api.get("/orders/9001"))["pickup_point"] == PICKUP
    kept = await api.ok("PUT", "/orders/9001", order("shipped"))  # not given: left as it was
    assert kept["pickup_point"] == PICKUP
    cleared = await api.ok("PUT", "/orders/9001", order("shipped", pickup_point=""))
    assert cleared["pickup_point"] is None
    assert (await api.get("/orders/9001"))["pickup_point"] is None
    doc = await api.get("/openapi.json")
    schemas = doc["components"]["schemas"]
    assert schemas["OrderBody"]["properties"]["pickup_point"]["anyOf"][0]["maxLength"] == 500
    assert "pickup_point" in schemas["OrderOut"]["required"]  # always present, maybe null


async def test_a_bad_pickup_point_is_refused_and_changes_nothing(api: Api) -> None:
    await api.ok("PUT", "/orders/9002", order("processing", pickup_point=PICKUP), 201)
    for bad in ("x" * 501, 17, ["a"]):
        status, error, _ = await api.call("PUT", "/orders/9002", order("shipped", pickup_point=bad))
        assert status == 422 and "pickup_point" in str(error), error
    found = await api.get("/orders/9002")
    assert found["pickup_point"] == PICKUP and found["status"] == "processing"


async def test_the_bot_and_the_ready_for_pickup_notice_name_the_pickup_point(
    hub: RunningHub, api: Api, fake_telegram: FakeTelegramAPI
) -> None:
    await api.ok("PUT", "/orders/9003", order("shipped"), 201)
    await customer_writes(hub, 9501, "статус заказа 9003", language_code="ru")
    first = (await bot_answer(fake_telegram, 9501)).text or ""
    assert "9003" in first and "Пункт выдачи" not in first  # none yet
    await api.ok("PUT", "/orders/9003", order("ready_for_pickup", pickup_point=PICKUP, notify=True))
    notice = (await bot_answer(fake_telegram, 9501, after=1)).text or ""
    assert "9003" in notice and "пункте выдачи" in notice and PICKUP in notice
    await customer_writes(hub, 9501, "где заказ 9003?")
    answer = (await bot_answer(fake_telegram, 9501, after=2)).text or ""
    assert "9003" in answer and f"Пункт выдачи: {PICKUP}" in answer
