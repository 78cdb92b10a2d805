"""Multipart uploads into the project's upload area (resumable: parts go straight to storage, in any
order, again after a dropped connection). Once completed, an ingest task stores the file as a new
media's original."""

from __future__ import annotations

from dataclasses import dataclass

from mediatasks.contract.latest import (
    FileResource,
    PartLink,
    PartLinks,
    ReceivedPart,
    Upload,
    UploadProgress,
)
from mediatasks.domain.errors import ErrorKind, RequestRejected
from mediatasks.domain.files import FileCreate, path_of
from mediatasks.domain.tasks import StoredObject
from mediatasks.domain.uploads import (
    PART_LINK_SECONDS,
    PartRequest,
    UploadCreate,
    UploadTicket,
    part_size_for,
)
from mediatasks.service.files import FileService
from mediatasks.service.signatures import upload_target


@dataclass(frozen=True)
class UploadService:
    files: FileService

    def _secret(self) -> bytes:
        return self.files.tasks.cursor_key()

    def _target(self, ticket: UploadTicket) -> StoredObject:
        return upload_target(self.files.tasks.settings.media_bucket, ticket.project, ticket.path)

    def _ticket(self, project_id: str, upload_id: str) -> UploadTicket:
        return UploadTicket.decode(upload_id, project_id, self._secret())

    def _view(self, ticket: UploadTicket, token: str) -> Upload:
        return Upload(
            id=token,
            filename=ticket.filename,
            folder=ticket.folder,
            size=ticket.size,
            part_size=ticket.part_size,
            parts=ticket.parts,
        )

    def create(self, project_id: str, request: UploadCreate) -> Upload:
        limit = self.files.tasks.settings.max_input_bytes
        if request.size > limit:
            raise RequestRejected(
                ErrorKind.payload_too_large, f"the file is larger than the limit of {limit} bytes", "size"
            )
        bucket = self.files.tasks.settings.media_bucket
        target = upload_target(bucket, project_id, path_of(request.folder, request.filename))
        ticket = UploadTicket(
            project=project_id,
            folder=request.folder,
            filename=request.filename,
            size=request.size,
            part_size=part_size_for(request.size),
            upload_id=self.files.storage.start_parts(target),
        )
        return self._view(ticket, ticket.encode(self._secret()))

    def part_links(self, project_id: str, upload_id: str, request: PartRequest) -> PartLinks:
        ticket = self._ticket(project_id, upload_id)
        ticket.check_part_numbers(request.part_numbers)
        target = self._target(ticket)
        links = [
            PartLink(
                part_number=number,
                url=self.files.storage.part_link(target, ticket.upload_id, number, PART_LINK_SECONDS),
            )
            for number in request.part_numbers
        ]
        return PartLinks(data=links, expires_in=PART_LINK_SECONDS)

    def _received(self, ticket: UploadTicket) -> list[tuple[int, int, str]]:
        """The parts storage holds with the size they must have."""
        return [
            part
            for part in self.files.storage.parts(self._target(ticket), ticket.upload_id)
            if 1 <= part[0] <= ticket.parts and part[1] == ticket.expected_size(part[0])
        ]

    def progress(self, project_id: str, upload_id: str) -> UploadProgress:
        ticket = self._ticket(project_id, upload_id)
        received = self._received(ticket)
        numbers = {number for number, _, _ in received}
        return UploadProgress(
            id=upload_id,
            parts=[ReceivedPart(part_number=number, size=size) for number, size, _ in received],
            received=sum(size for _, size, _ in received),
            missing=[number for number in range(1, ticket.parts + 1) if number not in numbers],
        )

    def complete(self, project_id: str, upload_id: str) -> FileResource:
        """Joins the parts into the object (refused while one is missing or of the wrong size) and
        starts its ingest: the file answers waiting, as the original of a new media."""
        ticket = self._ticket(project_id, upload_id)
        received = self._received(ticket)
        missing = sorted(set(range(1, ticket.parts + 1)) - {number for number, _, _ in received})
        if missing:
            shown = ", ".join(map(str, missing[:10]))
            raise RequestRejected(
                ErrorKind.upload_incomplete, f"parts still to send (or resend whole): {shown}"
            )
        target = self._target(ticket)
        self.files.storage.finish_parts(target, ticket.upload_id, sorted(received))
        return self.files.create_file(
            project_id,
            FileCreate(
                url=f"s3://{target.bucket}/{target.key}", folder=ticket.folder, filename=ticket.filename
            ),
        )
