"""S3: the managed bucket (outputs and work files) and the bucket its access logs go to."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_s3 as s3
from constructs import Construct

from mediatasks import constants as c
from mediatasks_infra.common import acknowledge, override_id

# every bucket that takes uploads: parts of an upload nobody finished are removed after a day
ABORT_INCOMPLETE_UPLOADS = s3.LifecycleRule(
    id="abort-incomplete-uploads", abort_incomplete_multipart_upload_after=cdk.Duration.days(1)
)


def private_bucket(
    scope: Construct, logical_id: str, *, access_logs: s3.IBucket | None, **props: object
) -> s3.Bucket:
    """Private, TLS only, encrypted, owned by this account, kept on stack deletion."""
    bucket = s3.Bucket(
        scope,
        logical_id,
        block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
        encryption=s3.BucketEncryption.S3_MANAGED,
        enforce_ssl=True,
        object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
        server_access_logs_bucket=access_logs,
        server_access_logs_prefix=f"{logical_id}/" if access_logs else None,
        removal_policy=cdk.RemovalPolicy.RETAIN,
        **props,  # type: ignore[arg-type]
    )
    override_id(bucket, logical_id)
    return bucket


class Storage(Construct):
    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        self.access_logs = private_bucket(
            self,
            "AccessLogsBucket",
            access_logs=None,
            lifecycle_rules=[s3.LifecycleRule(id="expire-logs", expiration=cdk.Duration.days(90))],
        )
        acknowledge(
            self.access_logs,
            {"AwsSolutions-S1": "this is the access log bucket; logging its own access would loop"},
        )
        self.bucket = private_bucket(
            self,
            c.MEDIA_BUCKET_ID,
            access_logs=self.access_logs,
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="remove-work-files", prefix=c.WORK_PREFIX, expiration=cdk.Duration.days(2)
                ),
                ABORT_INCOMPLETE_UPLOADS,
            ],
            # a web page's HLS player (hls.js) reads the presigned segment links a playback URL's
            # playlists list across origins; CORS grants no access, the link's signature does
            cors=[
                s3.CorsRule(
                    allowed_methods=[s3.HttpMethods.GET, s3.HttpMethods.HEAD],
                    allowed_origins=["*"],
                    allowed_headers=["Range"],
                    max_age=3600,
                ),
                # the console uploads a local file's parts straight to their presigned links (the
                # multipart upload the CLI uses) and must read each part's ETag to complete it;
                # the origin is any because the API's own address would make a dependency loop,
                # and again only the link's signature grants the write
                s3.CorsRule(
                    allowed_methods=[s3.HttpMethods.PUT],
                    allowed_origins=["*"],
                    allowed_headers=["Content-Type", "Content-Length"],
                    exposed_headers=["ETag"],
                    max_age=3600,
                ),
            ],
        )
