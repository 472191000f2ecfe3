"""The real services tests run against, started once per test session by tests/conftest.py:
moto's S3 server (``moto[server]``) and a throwaway PostgreSQL cluster, both on 127.0.0.1.

moto keeps its buckets per *process*, not per server, and the PostgreSQL server is shared,
so every test works in a bucket or a database of its own (:func:`new_bucket`,
:func:`new_database`). boto3, moto and psycopg are imported inside the functions, so the
other tests run without the ``s3`` and ``postgres`` extras.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import pytest

__all__ = ["S3Server", "fake_aws_environment", "new_bucket", "new_database", "start_moto"]


@dataclass
class S3Server:
    """One running moto server and a boto3 client that talks to it directly."""

    endpoint: str
    client: Any
    server: Any

    def new_bucket(self, **create: Any) -> str:
        name = f"t-{uuid.uuid4().hex[:20]}"
        self.client.create_bucket(Bucket=name, **create)
        return name


def start_moto() -> S3Server:
    import boto3
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    return S3Server(endpoint, boto3.client("s3", endpoint_url=endpoint), server)


def fake_aws_environment(mp: pytest.MonkeyPatch) -> None:
    """Fake credentials for boto3's chain; nothing from the developer's own AWS set-up."""
    import os

    for name in list(os.environ):
        if name.startswith(("DOCARCHIVE_S3_", "AWS_")):
            mp.delenv(name)
    mp.setenv("AWS_ACCESS_KEY_ID", "testing")
    mp.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    mp.setenv("AWS_DEFAULT_REGION", "us-east-1")
    mp.setenv("AWS_CONFIG_FILE", "/nonexistent/aws-config")
    mp.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/aws-credentials")
    mp.setenv("AWS_EC2_METADATA_DISABLED", "true")


def new_bucket(endpoint: str) -> str:
    """The storage URL of a new, empty bucket on ``endpoint``."""
    import boto3

    name = f"t-{uuid.uuid4().hex[:20]}"
    client = boto3.client("s3", endpoint_url=endpoint)
    client.create_bucket(Bucket=name)
    client.close()
    return f"s3://{name}/archive?endpoint_url={endpoint}"


def new_database(server: str) -> str:
    """The catalog URL of a new, empty database on the PostgreSQL ``server``."""
    from docarchive.testing.postgres import create_database

    return create_database(server, f"t_{uuid.uuid4().hex[:16]}")
