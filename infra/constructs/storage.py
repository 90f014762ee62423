"""S3 buckets from infra/registry.py, plus the bucket that receives their access logs."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_s3 as s3
from constructs import Construct

from infra import registry
from infra.constructs.resources import pascal

ACCESS_LOG_RETENTION = Duration.days(365)
NONCURRENT_VERSION_RETENTION = Duration.days(30)


class Storage(Construct):
    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        self.access_logs = s3.Bucket(
            self,
            "AccessLogsBucket",
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            encryption=s3.BucketEncryption.S3_MANAGED,  # log delivery cannot write with SSE-KMS
            enforce_ssl=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            removal_policy=RemovalPolicy.RETAIN,
            lifecycle_rules=[s3.LifecycleRule(id="expire-access-logs", expiration=ACCESS_LOG_RETENTION)],
        )
        # cdk-nag S1 accepts this bucket without logs of its own: it is the others' log target.

        self.buckets: dict[str, s3.Bucket] = {}
        for spec in registry.BUCKETS:
            self.buckets[spec.name] = s3.Bucket(
                self,
                f"{pascal(spec.name)}Bucket",
                block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
                encryption=s3.BucketEncryption.S3_MANAGED,
                enforce_ssl=True,
                versioned=True,
                object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
                server_access_logs_bucket=self.access_logs,
                server_access_logs_prefix=f"{spec.name}/",
                removal_policy=RemovalPolicy.RETAIN,
                lifecycle_rules=[
                    s3.LifecycleRule(
                        id="expire-noncurrent-versions",
                        noncurrent_version_expiration=NONCURRENT_VERSION_RETENTION,
                        abort_incomplete_multipart_upload_after=Duration.days(7),
                    ),
                    *(
                        [s3.LifecycleRule(id="expire-objects", expiration=Duration.days(spec.expire_days))]
                        if spec.expire_days is not None
                        else []
                    ),
                ],
            )
