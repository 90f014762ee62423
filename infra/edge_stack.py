"""GuichetEdgeStack: the AWS WAF web ACL of the distribution in front of the API, in us-east-1.

CloudFront only accepts web ACLs created in us-east-1 (scope CLOUDFRONT), whatever the region of
the rest: this stack holds that web ACL and nothing else. Deploy it first, then pass its
``WebAclArn`` output to GuichetStack's ``EdgeWebAclArn`` parameter (README, Deploy). Why WAF sits
on CloudFront: infra/constructs/edge.py.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Stack, Tags
from constructs import Construct

from infra.constructs.edge import WEB_ACL_PARAMETER, WebAcl

EDGE_REGION = "us-east-1"


class GuichetEdgeStack(Stack):
    def __init__(self, scope: Construct, construct_id: str, *, tags: dict[str, str], **kwargs: Any) -> None:
        kwargs.setdefault("description", "Guichet: the web ACL in front of the API (CloudFront, us-east-1)")
        super().__init__(scope, construct_id, **kwargs)
        for key, value in tags.items():
            Tags.of(self).add(key, value)
        self.web_acl = WebAcl(self, "Edge")
        CfnOutput(
            self,
            "WebAclArn",
            value=self.web_acl.arn,
            description=f"Give it to GuichetStack: --parameters GuichetStack:{WEB_ACL_PARAMETER}=<this>",
        )
