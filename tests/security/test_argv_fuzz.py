"""Hypothesis over every option field of every media kind: whatever valid options a caller sends,
the ffmpeg argv holds only our own tokens (flags, numbers, filters built from enums, our paths),
and ffmpeg is never run through a shell."""

from __future__ import annotations

import re
import subprocess
from typing import Any, get_args

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from mediatasks.adapters import ffmpeg
from mediatasks.domain.errors import TaskFailure
from mediatasks.domain.ffmpeg_args import Limits
from mediatasks.domain.media import ProbedMedia
from mediatasks.domain.options import Fit, Position, Quality
from mediatasks.kinds.registry import media_kinds

# thousands of generated option sets per kind: about 20 s
pytestmark = pytest.mark.slow

EXAMPLES = 2000
SOURCE, OUTPUT = "/scratch/task/source", "/scratch/task/out/output"
# Every token is a flag, a number, a codec/format name, a filter expression from our own
# templates (-var_stream_map's value is space-separated, "?" marks an optional stream), or one of
# our paths; nothing else (no quotes, slashes, shell or URL syntax).
TOKEN = re.compile(r"^[A-Za-z0-9_:=,.+\-*()\[\];%#? ]*$")

dimension = st.one_of(
    st.none(),
    st.integers(1, 3840).map(lambda v: v * 2),
    st.sampled_from(["1%", "25%", "33.5%", "50%", "99.99%", "100%"]),
)
seconds = st.one_of(st.none(), st.floats(0, 86_400, allow_nan=False))
colour = st.one_of(st.none(), st.from_regex(r"\A#([0-9a-fA-F]{6}|[0-9a-fA-F]{3})\Z"))


def option_values(kind: str) -> st.SearchStrategy[dict[str, Any]]:
    fields = media_kinds()[kind].options.model_fields
    values: dict[str, st.SearchStrategy[Any]] = {
        "format": st.sampled_from(get_args(fields["format"].annotation)),
        "quality": st.sampled_from(get_args(Quality)),
        "width": dimension,
        "height": dimension,
        "fit": st.sampled_from(get_args(Fit)),
        "position": st.sampled_from(get_args(Position)),
        "background": colour,
        "start": seconds,
        "end": seconds,
        "fps": st.floats(1, 60, allow_nan=False),
        "bitrate": st.integers(32_000, 60_000_000),
        "codec": st.sampled_from(["h264", "h265", "vp9", "av1"]),
    }
    return st.fixed_dictionaries({}, optional={name: values[name] for name in fields})


media = st.builds(
    ProbedMedia,
    demuxer=st.sampled_from(["mov", "matroska", "mpegts", "avi", "gif", "jpeg_pipe"]),
    format_names=st.just(("mov",)),
    duration=st.one_of(st.none(), st.floats(0.1, 20_000, allow_nan=False)),
    filesize=st.none(),
    bitrate=st.none(),
    width=st.integers(8, 7680),
    height=st.integers(8, 4320),
    fps=st.one_of(st.none(), st.floats(1, 240, allow_nan=False)),
    video_codec=st.just("h264"),
    audio_codec=st.sampled_from([None, "aac"]),
)


@pytest.mark.parametrize("kind", sorted(media_kinds()))
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(data=st.data())
def test_every_option_renders_only_our_tokens(kind: str, data: st.DataObject) -> None:
    raw = data.draw(option_values(kind))
    try:
        options = media_kinds()[kind].options.model_validate(raw)
    except ValidationError:
        assume(False)  # refused at the API: never reaches ffmpeg
    probed = data.draw(media)
    try:
        argv = media_kinds()[kind].encoding.encode_args(  # type: ignore[union-attr]
            "/opt/bin/ffmpeg", options, probed, SOURCE, OUTPUT, Limits(10**9)
        )
    except TaskFailure:
        return  # refused with a task error kind before ffmpeg runs (e.g. start past the end)
    assert argv[0] == "/opt/bin/ffmpeg"
    assert argv[argv.index("-i") + 1] == SOURCE
    for token in argv[1:]:
        assert isinstance(token, str)
        if token.startswith("/scratch/task/"):
            continue
        assert TOKEN.match(token), token
    assert argv.count("-i") == 1


def test_ffmpeg_is_never_run_through_a_shell(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[tuple[Any, dict[str, Any]]] = []

    class Refuse(Exception):
        pass

    def record(args: Any, **kwargs: Any) -> None:
        seen.append((args, kwargs))
        raise Refuse

    monkeypatch.setattr(subprocess, "Popen", record)
    with pytest.raises(Refuse):
        ffmpeg.run(["/opt/bin/ffmpeg", "-version"], 5)
    ((args, kwargs),) = seen
    assert isinstance(args, list)
    assert not kwargs.get("shell")
    assert set(kwargs["env"]) == {"PATH", "LANG"}  # no credentials reach ffmpeg
