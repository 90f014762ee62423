"""GuichetStack: the whole back office, one construct per capability."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aws_cdk import CfnOutput, Stack, Tags
from constructs import Construct

from infra.constructs.api import Api
from infra.constructs.auth import Auth
from infra.constructs.data import Data
from infra.constructs.functions import Functions
from infra.constructs.messaging import Messaging
from infra.constructs.resources import Resources
from infra.constructs.secrets import Secrets
from infra.constructs.storage import Storage

TAGS: dict[str, str] = {
    "project": "guichet",
    "managed-by": "aws-cdk",
    "repository": "guichet",
}


class GuichetStack(Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        code_dir: Path,
        layer_dir: Path,
        **kwargs: Any,
    ) -> None:
        """``code_dir``: the Lambda code (build/lambda); ``layer_dir``: the dependency layer,
        holding ``python/`` (build/layer). Tests pass small temporary directories."""
        kwargs.setdefault("description", "Guichet: omnichannel customer-service back office")
        super().__init__(scope, construct_id, **kwargs)
        for key, value in TAGS.items():
            Tags.of(self).add(key, value)

        self.data = Data(self, "Data")
        self.messaging = Messaging(self, "Messaging")
        self.storage = Storage(self, "Storage")
        self.secrets = Secrets(self, "Secrets")
        self.auth = Auth(self, "Auth")
        self.resources = Resources(
            table=self.data.table,
            queues=self.messaging.queues,
            buckets=self.storage.buckets,
            secrets=self.secrets.secrets,
            topics=self.messaging.topics,
            user_pools=self.auth.user_pools,
            user_pool_clients=self.auth.clients,
        )
        self.functions = Functions(
            self, "Functions", resources=self.resources, code_dir=code_dir, layer_dir=layer_dir
        )
        self.api = Api(
            self,
            "Api",
            functions=self.functions.functions,
            user_pools=self.auth.user_pools,
            clients=self.auth.clients,
        )

        CfnOutput(self, "ApiUrl", value=self.api.url, description="Base URL of the HTTP API")
        CfnOutput(self, "TableName", value=self.data.table.table_name)
        for name, pool in self.auth.user_pools.items():
            CfnOutput(self, f"{pool.node.id}Id", value=pool.user_pool_id, description=f"{name} user pool")
            CfnOutput(
                self,
                f"{pool.node.id}ClientId",
                value=self.auth.clients[name].user_pool_client_id,
                description=f"{name} app client",
            )
