"""The API's Lambda authorizer (TOKEN type, results cached by API Gateway).

API Gateway itself answers requests without an Authorization header (401 token_missing, a gateway
response). For a header whose key is not valid, this allows the call but marks it with
`auth_error`, and the API function answers 401 token_invalid: API Gateway would otherwise give both
cases the same response, and the contract tells them apart.
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
from mediatasks.domain.keys import bearer_token

logger = Logger(service="mediatasks-authorizer")
INVALID = "token_invalid"


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
        context={"project_id": project} if project else {"auth_error": INVALID},
    )
    policy.allow_all_routes()
    return policy.asdict()
