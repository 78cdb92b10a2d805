"""Language models on Amazon Bedrock through the Converse API: one model for the deployment, named
by MEDIATASKS_BEDROCK_MODEL_ID (cdk.json's `bedrockModelId`, a multimodal model by default: Amazon
Nova Lite; the template lets the step invoke that model only). The transcript and a few JPEG frames
of the input in the user turn, temperature 0, bounded answer tokens, no tools."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from mediatasks import constants as c
from mediatasks.domain.errors import ProcessingFailed
from mediatasks.providers.language import (
    MAX_ANSWER_TOKENS,
    MAX_CONTENT_CHARACTERS,
    InvalidAnswer,
    Request,
    parsed_json,
)

if TYPE_CHECKING:
    from mypy_boto3_bedrock_runtime import BedrockRuntimeClient

CLIENT_CONFIG = Config(retries={"max_attempts": 4, "mode": "adaptive"}, read_timeout=120)


# Converse takes at most 20 images in a request, each under 3.75 MB; a sampled frame is far smaller
# and the kinds send a handful (kinds/intelligence.py), so these bounds are never the ones reached.
MAX_IMAGES = 20
MAX_IMAGE_BYTES = 3_750_000


class BedrockTextModel:
    sees_pictures = True
    outlines = True
    answers_questions = True

    def __init__(self, client: BedrockRuntimeClient, model_id: str) -> None:
        self._client = client
        self.model = model_id

    @classmethod
    def from_environment(cls) -> BedrockTextModel:
        model_id = os.environ.get(c.ENV_BEDROCK_MODEL_ID)
        if not model_id:
            raise RuntimeError(f"{c.ENV_BEDROCK_MODEL_ID} names no Bedrock model")
        return cls(boto3.client("bedrock-runtime", config=CLIENT_CONFIG), model_id)

    def answer(self, request: Request) -> Any:
        if len(request.content) > MAX_CONTENT_CHARACTERS:
            raise ProcessingFailed("the input has more speech than a language model is given at once")
        try:
            reply = self._client.converse(
                modelId=self.model,
                system=[{"text": request.instructions}],
                messages=[{"role": "user", "content": [{"text": request.content}, *_pictures(request)]}],
                inferenceConfig={"maxTokens": MAX_ANSWER_TOKENS, "temperature": 0},
            )
        except (BotoCoreError, ClientError):
            # neither the provider's message nor the prompt goes into the task's error
            raise ProcessingFailed("the language model could not answer") from None
        if reply.get("stopReason") == "max_tokens":
            raise InvalidAnswer("the answer was cut off")
        parts = reply.get("output", {}).get("message", {}).get("content", [])
        return parsed_json("".join(part.get("text", "") for part in parts))


def _pictures(request: Request) -> list[Any]:
    """The request's frames as Converse image blocks (JPEG bytes: boto3 encodes them)."""
    frames = [frame for frame in request.frames if len(frame) <= MAX_IMAGE_BYTES][:MAX_IMAGES]
    return [{"image": {"format": "jpeg", "source": {"bytes": frame}}} for frame in frames]
