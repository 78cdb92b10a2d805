"""An in-process local stack changes this process's state while it runs (moto's settings and Lambda
seam, the environment, the handlers' cached clients); stopped, or failed while starting, it gives
all of it back, so a later test in the same process sees neither its emulator nor its settings."""

from __future__ import annotations

import os
from typing import Any

import pytest
from moto.awslambda_simple.models import LambdaSimpleBackend
from moto.core.config import default_user_config

from mediatasks.handlers import automations, slots
from mediatasks.local import stack as stack_module
from mediatasks.local.cloud import free_port
from mediatasks.local.stack import LocalStack

MOTO_KEYS = ("lambda", "stepfunctions")


def process_state() -> tuple[dict[str, Any], Any, dict[str, str]]:
    return (
        {key: default_user_config.get(key) for key in MOTO_KEYS},
        LambdaSimpleBackend.invoke,
        dict(os.environ),
    )


def test_a_stopped_stack_gives_back_moto_the_environment_and_every_cached_client(
    template: dict[str, Any],
) -> None:
    before = process_state()
    with LocalStack(port=free_port(), template=template):
        assert default_user_config["stepfunctions"] == {"execute_state_machine": True}
        # caches a hand-kept list of them once missed: their clients held the stack's address
        slots.running_slots()
        automations.automations()
        assert slots.running_slots.cache_info().currsize == 1
    assert process_state() == before
    assert slots.running_slots.cache_info().currsize == 0
    assert automations.automations.cache_info().currsize == 0


def test_a_stack_that_fails_to_start_gives_back_what_it_changed(
    template: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken_event_sources(*_: Any) -> list[Any]:
        raise RuntimeError("an event source could not start")

    monkeypatch.setattr(stack_module, "event_sources", broken_event_sources)
    before = process_state()
    with pytest.raises(RuntimeError, match="event source"), LocalStack(port=free_port(), template=template):
        pytest.fail("the stack started")
    assert process_state() == before
