"""The API's Lambda authorizer (TOKEN type, results cached by API Gateway).

API Gateway itself answers requests without an Authorization header (401 token_missing, a gateway
response). A valid key's policy names the key's usage-plan key (its SHA-256), which API Gateway
throttles per key. A key that is not valid gets no usage-plan key, so API Gateway answers
INVALID_API_KEY (401 token_invalid, a gateway response); its policy is still an Allow marked with
`auth_error`, and the API function answers token_invalid too should it ever be reached. A Deny
would make API Gateway answer 403 and could not be told apart from other refusals.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.data_classes import event_source
from aws_lambda_powertools.utilities.data_classes.api_gateway_authorizer_event import (
    APIGatewayAuthorizerResponse,
    APIGatewayAuthorizerTokenEvent,
)
from aws_lambda_powertools.utilities.typing import LambdaContext

from mediatasks.adapters.keys import KeyStore
from mediatasks.config import settings
from mediatasks.constants import AUTH_ERROR_INVALID_KEY
from mediatasks.domain.keys import bearer_token, key_hash

logger = Logger(service="mediatasks-authorizer")


@lru_cache(maxsize=1)
def keys() -> KeyStore:
    return KeyStore(settings().keys_table)


@logger.inject_lambda_context
@event_source(data_class=APIGatewayAuthorizerTokenEvent)
def handler(event: APIGatewayAuthorizerTokenEvent, context: LambdaContext) -> dict[str, Any]:
    token = bearer_token(event.authorization_token)
    project = keys().project_of(token) if token else None
    arn = event.parsed_arn
    policy = APIGatewayAuthorizerResponse(
        principal_id=project or "invalid-key",
        region=arn.region,
        aws_account_id=arn.aws_account_id,
        api_id=arn.api_id,
        stage=arn.stage,
        context={"project_id": project} if project else {"auth_error": AUTH_ERROR_INVALID_KEY},
        usage_identifier_key=key_hash(token) if project and token else None,
    )
    policy.allow_all_routes()
    return policy.asdict()
