"""Exchange rates and the platform's fee settings, in the catalog table beside its `<kind>#<id>` entries:

- a rate: `pk = rate#<source>:<base>:<target>` (`rate#ecb:eur:usd`, `rate#operator:usd:eur`), `kind = rate`;
- the fee settings: `pk = fees#platform`, `kind = fees` (one entry).

Neither kind is a catalog entity (domain.entities.KINDS), so the catalog store never decodes them, and the
`:`-joined ids cannot collide with a catalog kind's uuids or prefixed ids. Each write is conditional on being
newer than what is stored (a numeric copy of its timestamp, in microseconds since the epoch, so that two
ISO 8601 spellings of one instant compare right): an older fetch or a slower operator never overwrites a newer
value.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from payments_core.domain.rates import ExchangeRate, RateKey, parse_as_of
from payments_core.fees import FeeSettings
from payments_core.store.batch import PendingRead, TableRead
from payments_core.store.codec import from_item, s, to_item

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

RATE_KIND = "rate"
FEE_SETTINGS_KIND = "fees"
FEE_SETTINGS_KEY = f"{FEE_SETTINGS_KIND}#platform"
_NEWER = "attribute_not_exists(pk) OR #t < :t"


def rate_key(source: str, base: str, target: str) -> str:
    return f"{RATE_KIND}#{source}:{base}:{target}"


def _micros(text: str) -> int:
    moment = parse_as_of(text)
    return int(moment.timestamp()) * 1_000_000 + moment.microsecond


def _rate_from(d: Mapping[str, Any]) -> ExchangeRate:
    return ExchangeRate(
        base=str(d["base"]),
        target=str(d["target"]),
        rate=Decimal(d["rate"]),
        as_of=str(d["as_of"]),
        source=str(d["source"]),
    )


def _put_newer(db: DynamoDBClient, table: str, item: dict[str, Any], stamp: int) -> bool:
    try:
        db.put_item(
            TableName=table,
            Item=to_item(item),
            ConditionExpression=_NEWER,
            ExpressionAttributeNames={"#t": "stamp_us"},
            ExpressionAttributeValues={":t": {"N": str(stamp)}},
        )
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
            return False
        raise
    return True


class DynamoRateStore:
    """Implements payments_core.domain.stores.RateStore on the catalog table."""

    def __init__(self, client: DynamoDBClient, table: str) -> None:
        self._db = client
        self._table = table

    def read_rates(self, keys: Sequence[RateKey]) -> PendingRead[list[ExchangeRate]]:
        wanted = dict.fromkeys(rate_key(*key) for key in keys)

        def answer(items: list[dict[str, Any]]) -> list[ExchangeRate]:
            return [_rate_from(from_item(item)) for item in items]

        return PendingRead(answer, self._db, self._table, TableRead([{"pk": s(k)} for k in wanted]))

    def put_rate(self, rate: ExchangeRate) -> bool:
        stamp = _micros(rate.as_of)
        item = {
            **rate._asdict(),
            "pk": rate_key(rate.source, rate.base, rate.target),
            "kind": RATE_KIND,
            "stamp_us": stamp,
        }
        return _put_newer(self._db, self._table, item, stamp)

    def list_rates(self) -> list[ExchangeRate]:
        out: list[ExchangeRate] = []
        kwargs: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": "by_kind",
            "KeyConditionExpression": "kind = :k",
            "ExpressionAttributeValues": {":k": s(RATE_KIND)},
        }
        while True:
            resp = self._db.query(**kwargs)
            out.extend(_rate_from(from_item(dict(item))) for item in resp["Items"])
            if "LastEvaluatedKey" not in resp:
                return out
            kwargs["ExclusiveStartKey"] = resp["LastEvaluatedKey"]


def _settings_from(d: Mapping[str, Any]) -> FeeSettings:
    return FeeSettings(
        provider_processing_fee_percent=Decimal(d["provider_processing_fee_percent"]),
        provider_fixed_fees={str(c): Decimal(v) for c, v in d.get("provider_fixed_fees", {}).items()},
        platform_fee_percent=Decimal(d["platform_fee_percent"]),
        updated_at=str(d.get("updated_at", "")),
    )


class DynamoFeeSettingsStore:
    """Implements payments_core.domain.stores.FeeSettingsStore on the catalog table."""

    def __init__(self, client: DynamoDBClient, table: str) -> None:
        self._db = client
        self._table = table

    def read_fee_settings(self) -> PendingRead[FeeSettings | None]:
        def answer(items: list[dict[str, Any]]) -> FeeSettings | None:
            return _settings_from(from_item(items[0])) if items else None

        return PendingRead(answer, self._db, self._table, TableRead([{"pk": s(FEE_SETTINGS_KEY)}]))

    def get_fee_settings(self) -> FeeSettings | None:
        item = self._db.get_item(TableName=self._table, Key={"pk": s(FEE_SETTINGS_KEY)}).get("Item")
        return _settings_from(from_item(dict(item))) if item else None

    def put_fee_settings(self, settings: FeeSettings) -> bool:
        stamp = _micros(settings.updated_at)
        item = {
            **settings._asdict(),
            "provider_fixed_fees": dict(settings.provider_fixed_fees),
            "pk": FEE_SETTINGS_KEY,
            "kind": FEE_SETTINGS_KIND,
            "stamp_us": stamp,
        }
        return _put_newer(self._db, self._table, item, stamp)
