"""What a track kind's maker is lent (kinds/base.TrackTools): the pinned ffmpeg run within a
deadline, Pillow's sprite sheets within the pixel bound and JPEG frames, and the configured
moderation and language models.
Shared by the pipeline's track step and a local run; it loads no AWS SDK unless the moderation
provider is Rekognition."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from mediatasks.adapters import ffmpeg
from mediatasks.adapters.pictures import jpeg_bytes, sprite_sheet
from mediatasks.domain.options import Quality
from mediatasks.providers.language import LanguageProviderName, TextModel, text_model
from mediatasks.providers.moderation import FrameModerator, ModerationProviderName, moderator


@dataclass(frozen=True)
class FfmpegTrackTools:
    ffmpeg: str
    deadline: float
    max_pixels: int
    # a local run judges with the model on this machine; the pipeline passes its setting
    moderation: ModerationProviderName = ModerationProviderName.local
    language: LanguageProviderName = LanguageProviderName.local

    def run(self, argv: list[str], on_line: Callable[[str], None] | None = None) -> bytes:
        return ffmpeg.run(argv, self.deadline, on_line=on_line)

    def sprite_sheet(
        self, frames: list[Path], columns: int, tile: tuple[int, int], target: Path, quality: Quality
    ) -> int:
        return sprite_sheet(frames, columns, tile, target, quality, self.max_pixels)

    def moderator(self) -> FrameModerator:
        return moderator(self.moderation)

    def jpeg(self, frame: Path) -> bytes:
        return jpeg_bytes(frame)

    def text_model(self) -> TextModel | None:
        return text_model(self.language)
