"""Small helpers shared by the claim tests."""

import datetime
from zoneinfo import ZoneInfo

import time_machine

from reference.tests.factories import OccupationFactory

SHANGHAI = ZoneInfo("Asia/Shanghai")
OCCUPATION_NAMES = [
    "人工智能工程技术人员",
    "物联网工程技术人员",
    "大数据工程技术人员",
    "云计算工程技术人员",
    "智能制造工程技术人员",
    "工业互联网工程技术人员",
    "虚拟现实工程技术人员",
    "区块链工程技术人员",
    "集成电路工程技术人员",
    "数字化管理师",
]


def occupation(n: int = 0):
    return OccupationFactory(name=OCCUPATION_NAMES[n], short_name=OCCUPATION_NAMES[n][:4])


def freeze(day: datetime.date, hour: int = 10):
    """Freeze 'now' at ``hour`` o'clock Zhejiang time on ``day``."""
    return time_machine.travel(
        datetime.datetime(day.year, day.month, day.day, hour, tzinfo=SHANGHAI), tick=False
    )


def failed_codes(exc_info) -> list[str]:
    return [r["code"] for r in exc_info.value.detail["rules"]]
