"""description and prompt without the product: their extractive results from a transcript, and their
answers from a language model (Bedrock against botocore's Stubber) checked before use: sources
among the transcript's sentences, bounded lengths, asked once more, then a clear failure."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber

from mediatasks.domain.errors import ProcessingFailed
from mediatasks.domain.summaries import sentences_between
from mediatasks.kinds import description, prompt
from mediatasks.providers.bedrock import BedrockTextModel
from tests.unit.test_outline_models import INJECTION, MODEL_ID, TRANSCRIPT, reply

SENTENCES = sentences_between(TRANSCRIPT, 0, 60)


@pytest.fixture
def client() -> Iterator[tuple[Any, Stubber]]:
    bedrock = boto3.client(
        "bedrock-runtime", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    with Stubber(bedrock) as stubber:
        yield bedrock, stubber
        stubber.assert_no_pending_responses()


def converse(stubber: Stubber, *answers: str) -> None:
    for answer in answers:
        stubber.add_response(
            "converse",
            reply(answer),
            {"modelId": MODEL_ID, "system": ANY, "messages": ANY, "inferenceConfig": ANY},
        )


def test_the_extractive_description_is_chosen_from_the_transcript() -> None:
    made = description.extractive(SENTENCES, tags=3)
    assert made["description"] == "Tomatoes need water every morning. … Water the tomatoes after riding."
    assert made["title"] == "Tomatoes need water every morning"
    # the words said most often, then others said once
    assert made["tags"][:2] == ["tomatoes", "water"]
    assert len(made["tags"]) == 3
    assert made["tags"][2] in TRANSCRIPT.text.lower()


def test_the_extractive_answer_quotes_the_closest_sentence() -> None:
    made = prompt.extractive(SENTENCES, "What does the chain of a bicycle need?")
    assert made["answer"] == "Bicycles need oil on the chain."
    assert made["sources"] == [{"start": 5.5, "end": pytest.approx(7.25)}]
    assert prompt.extractive(SENTENCES, "Who won the election?") == {"answer": "", "sources": []}


def test_a_model_s_description_is_bounded(client: tuple[Any, Stubber]) -> None:
    bedrock, stubber = client
    good = {
        "title": "Garden and bicycle care",
        "description": "Watering and oiling.",
        "tags": ["Garden", " ", "x" * 41],
    }
    converse(stubber, json.dumps({**good, "title": "t" * 500}), json.dumps(good))
    made = description.written(BedrockTextModel(bedrock, MODEL_ID), "Duration: 15 s.", SENTENCES, tags=5)
    assert made == {
        "title": "Garden and bicycle care",
        "description": "Watering and oiling.",
        "tags": ["garden"],
    }


def test_a_model_s_answer_names_its_sources_by_sentence(client: tuple[Any, Stubber]) -> None:
    bedrock, stubber = client
    converse(stubber, json.dumps({"answer": "Oil on the chain.", "sources": [3, 3]}))
    made = prompt.written(BedrockTextModel(bedrock, MODEL_ID), SENTENCES, "What do bicycles need?")
    assert made == {"answer": "Oil on the chain.", "sources": [{"start": 5.5, "end": pytest.approx(7.25)}]}


@pytest.mark.parametrize("answer", ["PWNED", json.dumps({"answer": "PWNED", "sources": [99]})])
def test_an_answer_that_is_not_as_asked_fails_after_one_retry(
    client: tuple[Any, Stubber], answer: str
) -> None:
    bedrock, stubber = client
    converse(stubber, answer, answer)
    with pytest.raises(ProcessingFailed) as failure:
        prompt.written(BedrockTextModel(bedrock, MODEL_ID), SENTENCES, INJECTION)
    assert "PWNED" not in str(failure.value)


def test_bedrock_is_shown_the_frames_after_the_transcript(client: tuple[Any, Stubber]) -> None:
    bedrock, stubber = client
    frames = (b"\xff\xd8 first frame", b"\xff\xd8 second frame")
    good = {"title": "Garden care", "description": "Watering.", "tags": ["garden"]}
    stubber.add_response(
        "converse",
        reply(json.dumps(good)),
        {
            "modelId": MODEL_ID,
            "system": ANY,
            "messages": [
                {
                    "role": "user",
                    "content": [
                        {"text": ANY},
                        *({"image": {"format": "jpeg", "source": {"bytes": frame}}} for frame in frames),
                    ],
                }
            ],
            "inferenceConfig": ANY,
        },
    )
    model = BedrockTextModel(bedrock, MODEL_ID)
    assert model.sees_pictures
    made = description.written(model, "Duration: 15 s.", SENTENCES, tags=5, frames=frames)
    assert made["title"] == "Garden care"
