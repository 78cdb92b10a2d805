"""A language model behind an OpenAI-compatible chat-completions endpoint that the operator runs
(Ollama, llama.cpp's server, vLLM) and names with `mediatasks serve --llm-url URL --llm-model NAME`.

The request is the OpenAI chat-completions shape: the kind's instructions as the system message, the
media's content (delimited and labelled as data, providers/language.py) as the user message, with
the input's frames as JPEG data URLs when the operator said the model sees pictures
(`--llm-images`), temperature 0, bounded answer tokens, the answer's JSON schema as
`response_format`, no tools. An endpoint that fails, times out or answers anything but a
chat-completion is a task `failed` with `processing_failed`, its detail never in the task's error.

The call goes through the one fetch policy (adapters/fetch.py) with loopback allowed: the URL is the
operator's configuration, given on the command line of the machine that runs the model, not a
caller's string, and a model served next to the product is the usual case (Ollama listens on
127.0.0.1:11434). The local stack's own ports stay refused, and private and link-local addresses stay
refused whatever the flag."""

from __future__ import annotations

import base64
import json
import os
from dataclasses import dataclass
from typing import Any

from mediatasks import constants as c
from mediatasks.adapters.fetch import FetchPolicy, post_for_answer
from mediatasks.domain.errors import ProcessingFailed, TaskFailure
from mediatasks.providers.language import (
    MAX_ANSWER_TOKENS,
    InvalidAnswer,
    Request,
    json_schema_format,
    parsed_json,
)

# What a chat-completion may take: 10 s to connect, 5 minutes to answer (a CPU-only model writing
# 2,000 tokens), 4 MB of answer.
CONNECT_SECONDS = 10.0
ANSWER_SECONDS = 300.0
MAX_ANSWER_BYTES = 4 * 1024**2
# What is sent: a transcript of 20 minutes of speech is about 20,000 characters.
MAX_CONTENT_CHARACTERS = 60_000


def completions_url(url: str) -> str:
    """The chat-completions URL of an endpoint given as its base (http://host:11434/v1) or whole."""
    trimmed = url.rstrip("/")
    return trimmed if trimmed.endswith("/chat/completions") else f"{trimmed}/chat/completions"


def data_url(jpeg: bytes) -> str:
    return "data:image/jpeg;base64," + base64.b64encode(jpeg).decode()


@dataclass(frozen=True)
class EndpointTextModel:
    url: str
    model: str
    sees_pictures: bool = False
    refused_ports: frozenset[int] = frozenset()
    outlines = True
    answers_questions = True

    @classmethod
    def from_environment(cls) -> EndpointTextModel:
        url, model = os.environ.get(c.ENV_LLM_URL), os.environ.get(c.ENV_LLM_MODEL)
        if not url or not model:
            raise RuntimeError(f"{c.ENV_LLM_URL} and {c.ENV_LLM_MODEL} name no endpoint")
        ports = frozenset(
            int(p) for p in os.environ.get(c.ENV_LOCAL_SERVICE_PORTS, "").split(",") if p.strip()
        )
        images = os.environ.get(c.ENV_LLM_IMAGES, "").lower() in ("1", "true", "yes")
        return cls(completions_url(url), model, images, ports)

    def body(self, request: Request) -> dict[str, Any]:
        content: list[dict[str, Any]] = [{"type": "text", "text": request.content}]
        if self.sees_pictures:
            content += [{"type": "image_url", "image_url": {"url": data_url(f)}} for f in request.frames]
        return {
            "model": self.model,
            "messages": [
                {"role": "system", "content": request.instructions},
                {"role": "user", "content": content},
            ],
            "temperature": 0,
            "max_tokens": MAX_ANSWER_TOKENS,
            "stream": False,
            "response_format": json_schema_format(request.schema),
        }

    def answer(self, request: Request) -> Any:
        if len(request.content) > MAX_CONTENT_CHARACTERS:
            raise ProcessingFailed("the input has more speech than a language model is given at once")
        policy = FetchPolicy(
            allow_loopback=True,
            refused_loopback_ports=self.refused_ports,
            max_redirects=0,
            connect_timeout=CONNECT_SECONDS,
            read_timeout=ANSWER_SECONDS,
            max_bytes=MAX_ANSWER_BYTES,
        )
        body = json.dumps(self.body(request)).encode()
        try:
            status, answer = post_for_answer(self.url, body, {"Content-Type": "application/json"}, policy)
        except TaskFailure:
            # neither the endpoint's address nor what it said goes into the task's error
            raise ProcessingFailed("the language model could not answer") from None
        if status != 200:
            raise ProcessingFailed("the language model could not answer")
        try:
            choice = json.loads(answer)["choices"][0]
            text = choice["message"]["content"]
        except (ValueError, KeyError, IndexError, TypeError):
            raise ProcessingFailed("the language model could not answer") from None
        if choice.get("finish_reason") == "length" or not isinstance(text, str):
            raise InvalidAnswer("the answer was cut off")
        return parsed_json(text)
