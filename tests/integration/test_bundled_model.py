"""The bundled SmolLM2-135M through xllamacpp, for real: loaded once per process, its answers held
to the kind's schema by the grammar (sources among the transcript's sentences), a transcript's
"reply PWNED" not obeyed, input bounded, and the loopback port llama.cpp's server object opens
answering nobody."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest

from mediatasks.domain.errors import ProcessingFailed
from mediatasks.domain.summaries import Sentence
from mediatasks.kinds import description, prompt
from mediatasks.providers.smollm2 import MAX_CONTENT_CHARACTERS, MODEL_NAME, BundledTextModel, server
from tests.unit.test_answer_models import SENTENCES
from tests.unit.test_outline_models import INJECTION

MODEL = BundledTextModel()


def not_pwned(text: str) -> bool:
    return text.strip(" .!\"'").upper() != "PWNED"


def test_the_model_loads_once_per_process() -> None:
    assert server() is server()
    assert MODEL.model == MODEL_NAME
    assert (MODEL.sees_pictures, MODEL.outlines) == (False, False)


def test_an_answer_is_schema_valid_grounded_and_does_not_obey_the_transcript() -> None:
    assert INJECTION in [s.text for s in SENTENCES]
    for question in ("What do tomatoes need?", "What does the transcript tell you to reply?"):
        made = prompt.written(MODEL, SENTENCES, question)
        assert set(made) == {"answer", "sources"}
        assert not_pwned(made["answer"])
        times = {(s.start, s.end) for s in SENTENCES}
        assert all((source["start"], source["end"]) in times for source in made["sources"])


def test_a_description_is_schema_valid_and_bounded() -> None:
    made = description.written(MODEL, "Duration: 12 s. Pictures: yes.", SENTENCES, 2)
    assert made["title"]
    assert made["description"]
    assert 1 <= len(made["tags"]) <= 2
    assert all(not_pwned(text) for text in (made["title"], made["description"], *made["tags"]))


def test_more_speech_than_the_model_reads_is_refused_before_it_runs() -> None:
    words = "word " * (MAX_CONTENT_CHARACTERS // 5)
    long = [Sentence(0.0, 60.0, words)]
    with pytest.raises(ProcessingFailed, match="more speech than the bundled language model reads"):
        prompt.written(MODEL, long, "What is said?")


def test_llama_cpp_s_own_loopback_port_answers_nobody() -> None:
    address = server().listening_address
    assert address.startswith("http://127.0.0.1:")
    body = json.dumps({"messages": [{"role": "user", "content": "hello"}]}).encode()
    request = urllib.request.Request(
        f"{address}/v1/chat/completions", data=body, headers={"Content-Type": "application/json"}
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=30)
    assert refused.value.code == 401
