"""Create every table, queue, secret and parameter of template.yaml in moto (or any endpoint),
and resolve the functions' environment the way CloudFormation would."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

import boto3

from devstack import moto_patches
from devstack import template as tpl

ACCOUNT_ID = "123456789012"


@dataclass
class Stack:
    name: str
    region: str
    session: boto3.session.Session
    endpoint_url: str | None
    parameters: dict[str, Any]
    physical: dict[str, str] = field(default_factory=dict)  # logical id -> Ref value
    attributes: dict[tuple[str, str], str] = field(default_factory=dict)  # (logical, attr) -> value

    def client(self, service: str) -> Any:
        return self.session.client(service, region_name=self.region, endpoint_url=self.endpoint_url)  # type: ignore[call-overload]

    # ---- intrinsic functions
    def resolve(self, value: Any) -> Any:
        if isinstance(value, dict) and len(value) == 1:
            ((key, arg),) = value.items()
            if key == "Ref":
                return self._ref(arg)
            if key == "Fn::GetAtt":
                logical, attr = arg if isinstance(arg, list) else str(arg).split(".", 1)
                return self.attributes[(logical, attr)]
            if key == "Fn::Sub":
                return self._sub(arg)
            if key == "Fn::If":
                return self.resolve(arg[2])  # conditions are evaluated false locally
        if isinstance(value, dict):
            return {k: self.resolve(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        return value

    def _pseudo(self, name: str) -> str | None:
        return {
            "AWS::StackName": self.name,
            "AWS::Region": self.region,
            "AWS::AccountId": ACCOUNT_ID,
            "AWS::Partition": "aws",
        }.get(name)

    def _ref(self, name: str) -> Any:
        pseudo = self._pseudo(name)
        if pseudo is not None:
            return pseudo
        if name in self.parameters:
            return self.parameters[name]
        return self.physical[name]

    def _sub(self, arg: Any) -> str:
        text, extra = (arg, {}) if isinstance(arg, str) else (arg[0], arg[1])

        def repl(m: re.Match[str]) -> str:
            key = m.group(1)
            if key in extra:
                return str(self.resolve(extra[key]))
            if "." in key:
                logical, attr = key.split(".", 1)
                return self.attributes[(logical, attr)]
            return str(self._ref(key))

        return re.sub(r"\$\{([^}!]+)\}", repl, text)

    def environment(self, function: str) -> dict[str, str]:
        """The function's environment as CloudFormation would resolve it, with the values the template
        leaves to the local stack: the moto endpoint, and botocore's account-id endpoints turned off
        (they would bypass the endpoint for DynamoDB Streams)."""
        fn = tpl.functions()[function]
        env = {k: str(self.resolve(v)) for k, v in fn.environment.items()}
        local = {"LOCAL_ENDPOINT_URL": self.endpoint_url or "", "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled"}
        env.update({k: v for k, v in local.items() if k in env})
        return env

    def operator_environment(self) -> dict[str, str]:
        """Every function's settings at once (no variable has two values across functions): what set-up
        code needs (the demo seed, the signing key, an operator's CLI), which touches what several use."""
        merged: dict[str, str] = {}
        for name in tpl.functions():
            merged.update(self.environment(name))
        return merged

    def describe(self) -> dict[str, str]:
        return {
            "PaymentsTableName": self.physical.get("PaymentsTable", ""),
            "PaymentKeysTableName": self.physical.get("PaymentKeysTable", ""),
            "CatalogTableName": self.physical.get("CatalogTable", ""),
            "DealQueueUrl": self.physical.get("DealQueue", ""),
        }


def _table_spec(name: str, props: dict[str, Any]) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "TableName": name,
        "KeySchema": props["KeySchema"],
        "AttributeDefinitions": props["AttributeDefinitions"],
        "BillingMode": props.get("BillingMode", "PAY_PER_REQUEST"),
    }
    if props.get("GlobalSecondaryIndexes"):
        spec["GlobalSecondaryIndexes"] = props["GlobalSecondaryIndexes"]
    if props.get("StreamSpecification"):
        spec["StreamSpecification"] = {"StreamEnabled": True, **props["StreamSpecification"]}
    plain: dict[str, Any] = json.loads(json.dumps(spec))
    return plain


_QUEUE_ATTRIBUTES = (
    "FifoQueue",
    "ContentBasedDeduplication",
    "DeduplicationScope",
    "FifoThroughputLimit",
    "VisibilityTimeout",
    "MessageRetentionPeriod",
    "DelaySeconds",
    "ReceiveMessageWaitTimeSeconds",
)


# Template parameters the local stack (and the tests' stacks) set apart from their defaults: nothing local ever
# reaches the internet, so the ECB rates fetch has no feed (it answers {"configured": false} at once).
LOCAL_PARAMETERS: dict[str, Any] = {"ExchangeRatesUrl": ""}


def provision(
    session: boto3.session.Session,
    *,
    stack_name: str = "payments-local",
    region: str = "us-east-1",
    endpoint_url: str | None = None,
    parameters: dict[str, Any] | None = None,
) -> Stack:
    moto_patches.apply()  # no-op unless moto runs in this process (in-process mock or ThreadedMotoServer)
    params = {**tpl.parameter_defaults(), **LOCAL_PARAMETERS, **(parameters or {})}
    stack = Stack(stack_name, region, session, endpoint_url, params)
    ddb, sqs = stack.client("dynamodb"), stack.client("sqs")
    sm, ssm = stack.client("secretsmanager"), stack.client("ssm")

    for logical, r in tpl.resources("AWS::DynamoDB::Table").items():
        name = f"{stack_name}-{logical}"
        desc = ddb.create_table(**_table_spec(name, r["Properties"]))["TableDescription"]
        ttl = r["Properties"].get("TimeToLiveSpecification")
        if ttl:
            ddb.update_time_to_live(TableName=name, TimeToLiveSpecification=ttl)
        stack.physical[logical] = name
        stack.attributes[(logical, "Arn")] = desc["TableArn"]
        if "LatestStreamArn" in desc:
            stack.attributes[(logical, "StreamArn")] = desc["LatestStreamArn"]

    queues = tpl.resources("AWS::SQS::Queue")
    for logical, r in queues.items():
        props = r["Properties"]
        name = f"{stack_name}-{logical}" + (".fifo" if props.get("FifoQueue") else "")
        attrs = {
            k: str(props[k]).lower() if isinstance(props[k], bool) else str(props[k])
            for k in _QUEUE_ATTRIBUTES
            if k in props
        }
        url = sqs.create_queue(QueueName=name, Attributes=attrs)["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        stack.physical[logical] = url
        stack.attributes[(logical, "Arn")] = arn
        stack.attributes[(logical, "QueueName")] = name
        stack.attributes[(logical, "QueueUrl")] = url
    for logical, r in queues.items():
        redrive = r["Properties"].get("RedrivePolicy")
        if redrive:
            policy = {k: stack.resolve(v) for k, v in redrive.items()}
            sqs.set_queue_attributes(QueueUrl=stack.physical[logical], Attributes={"RedrivePolicy": json.dumps(policy)})

    for logical, r in tpl.resources("AWS::SecretsManager::Secret").items():
        props = r["Properties"]
        name = f"{stack_name}-{logical}"
        arn = sm.create_secret(Name=name, SecretString=props.get("SecretString", "{}"))["ARN"]
        stack.physical[logical] = arn

    for logical, r in tpl.resources("AWS::SSM::Parameter").items():
        props = r["Properties"]
        name = stack.resolve(props["Name"])
        ssm.put_parameter(Name=name, Value=props["Value"], Type=props.get("Type", "String"), Overwrite=True)
        stack.physical[logical] = name

    return stack
