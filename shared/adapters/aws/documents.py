"""Customer documents (invoices) in S3, behind the ``Documents`` port.

The customer never gets a bucket URL in an email: links point at the API, which checks who
asks and answers with a short-lived presigned URL (a presigned URL signed with a Lambda role's
credentials dies with the role's session anyway).
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError


class S3Documents:
    def __init__(self, client: Any, bucket: str) -> None:
        self._client = client
        self._bucket = bucket

    def put(self, key: str, body: bytes, content_type: str) -> None:
        """Idempotent: the same invoice renders to the same bytes, so a retried step rewrites it."""
        self._client.put_object(Bucket=self._bucket, Key=key, Body=body, ContentType=content_type)

    def url(self, key: str, expires_s: int = 300) -> str:
        url: str = self._client.generate_presigned_url(
            "get_object", Params={"Bucket": self._bucket, "Key": key}, ExpiresIn=expires_s
        )
        return url

    def get(self, key: str) -> bytes:
        body: bytes = self._client.get_object(Bucket=self._bucket, Key=key)["Body"].read()
        return body

    def presign_upload(self, key: str, content_type: str, max_bytes: int, expires_s: int) -> dict[str, Any]:
        """A presigned POST: the browser (or the technician's app) sends the file straight to S3,
        which refuses another content type or more than ``max_bytes``."""
        presigned: dict[str, Any] = self._client.generate_presigned_post(
            Bucket=self._bucket,
            Key=key,
            Fields={"Content-Type": content_type},
            Conditions=[{"Content-Type": content_type}, ["content-length-range", 1, max_bytes]],
            ExpiresIn=expires_s,
        )
        return presigned

    def exists(self, key: str) -> bool:
        try:
            self._client.head_object(Bucket=self._bucket, Key=key)
        except ClientError as error:
            if str(error.response.get("Error", {}).get("Code")) in ("404", "NoSuchKey", "NotFound"):
                return False
            raise
        return True
