"""The official SDKs as a developer calls RAM with them, each a "driver" with one
``call(action, **params)`` that returns the response body or raises ``ApiFailure``:
``alibabacloud-ram20150501`` with signature V3 (its default) and with V1
(``signature_algorithm='v2'``), ``aliyun-python-sdk-core``'s ``CommonRequest`` by GET and by
POST (parameters in the form body), and the ``aliyunsdkram`` request classes."""
from __future__ import annotations

import importlib
import json
import re

import pytest
from alibabacloud_ram20150501 import models as ram_models
from alibabacloud_ram20150501.client import Client as RamClient
from alibabacloud_tea_openapi.exceptions import AlibabaCloudException
from alibabacloud_tea_openapi.utils_models import Config
from aliyunsdkcore.acs_exception.exceptions import ServerException
from aliyunsdkcore.client import AcsClient
from aliyunsdkcore.request import CommonRequest

DATE = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\Z")
DRIVERS = ["tea-v3", "tea-v1", "common-get", "common-post", "request-classes"]


class ApiFailure(Exception):
    """An error as the SDK surfaced it: its code and HTTP status."""

    def __init__(self, code: str, status: int):
        super().__init__(f"{code} ({status})")
        self.code, self.status = code, status


class TeaDriver:
    """alibabacloud-ram20150501 (Darabonba/Tea), V3 or V1 signatures."""

    def __init__(self, port: int, key_id: str, secret: str, algorithm: str | None):
        config = Config(access_key_id=key_id, access_key_secret=secret, endpoint=f"127.0.0.1:{port}",
                        protocol="http", region_id="cn-hangzhou")
        if algorithm:
            config.signature_algorithm = algorithm
        self.client = RamClient(config)

    def call(self, action: str, **params) -> dict:
        method = getattr(self.client, re.sub(r"(?<!^)(?=[A-Z])", "_", action).lower())
        request_class = getattr(ram_models, f"{action}Request", None)
        arguments = {_snake(name): value for name, value in params.items()}
        try:
            response = method(request_class(**arguments)) if request_class else method()
        except AlibabaCloudException as error:
            raise ApiFailure(error.code, error.status_code) from None
        return response.body.to_map()


class CommonRequestDriver:
    """aliyun-python-sdk-core's CommonRequest, parameters in the query (GET) or the form body (POST)."""

    def __init__(self, port: int, key_id: str, secret: str, method: str):
        self.client = AcsClient(key_id, secret, "cn-hangzhou", auto_retry=False)
        self.port, self.method = port, method

    def call(self, action: str, **params) -> dict:
        request = CommonRequest(domain=f"127.0.0.1:{self.port}", version="2015-05-01", action_name=action)
        request.set_method(self.method)
        request.set_protocol_type("http")
        for name, value in params.items():
            add = request.add_query_param if self.method == "GET" else request.add_body_params
            add(name, _text(value))
        return _legacy_do(self.client, request)


class RequestClassDriver:
    """The aliyunsdkram request classes (``aliyunsdkram.request.v20150501.<Action>Request``)."""

    def __init__(self, port: int, key_id: str, secret: str):
        self.client = AcsClient(key_id, secret, "cn-hangzhou", auto_retry=False)
        self.port = port

    def call(self, action: str, **params) -> dict:
        module = importlib.import_module(f"aliyunsdkram.request.v20150501.{action}Request")
        request = getattr(module, f"{action}Request")()
        request.set_endpoint(f"127.0.0.1:{self.port}")
        request.set_protocol_type("http")
        for name, value in params.items():
            getattr(request, f"set_{name}")(_text(value))
        return _legacy_do(self.client, request)


def _legacy_do(client: AcsClient, request) -> dict:
    try:
        return json.loads(client.do_action_with_exception(request))
    except ServerException as error:
        raise ApiFailure(error.get_error_code(), error.get_http_status()) from None


def _snake(name: str) -> str:
    return {"AllowUserToManageMFADevices": "allow_user_to_manage_mfadevices"}.get(
        name, re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower())


def _text(value) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def failure(driver, action: str, **params) -> ApiFailure:
    with pytest.raises(ApiFailure) as raised:
        driver.call(action, **params)
    return raised.value


def driver_of(kind: str, port: int, key_id: str, secret: str):
    """A driver of ``kind`` (one of ``DRIVERS``) signing with the given key."""
    if kind.startswith("tea"):
        return TeaDriver(port, key_id, secret, "v2" if kind == "tea-v1" else None)
    if kind.startswith("common"):
        return CommonRequestDriver(port, key_id, secret, "GET" if kind == "common-get" else "POST")
    return RequestClassDriver(port, key_id, secret)


def sdk_config(port: int, key_id: str, secret: str, token: str | None = None, signature: str = "v3") -> Config:
    """The Tea SDKs' Config (RAM, STS) for this server, signing V3 or V1 (``signature="v1"``),
    with a SecurityToken for temporary credentials."""
    settings = Config(access_key_id=key_id, access_key_secret=secret, endpoint=f"127.0.0.1:{port}", protocol="http",
                      region_id="cn-hangzhou")
    if token is not None:
        settings.security_token = token
    if signature == "v1":
        settings.signature_algorithm = "v2"
    return settings


def refused(call) -> tuple[str, int]:
    """(code, HTTP status) of the error a Tea SDK call raises."""
    with pytest.raises(AlibabaCloudException) as raised:
        call()
    return raised.value.code, raised.value.status_code


def trust_policy(**principal) -> dict:
    """A trust policy letting ``principal`` ({"RAM": …} / {"Service": …}) assume a role."""
    return {"Version": "1", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": principal}]}
