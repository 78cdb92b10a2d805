"""Names shared by the functions, the CDK app, the local stack and the tests."""

ENV_TASKS_TABLE = "MEDIATASKS_TASKS_TABLE"
ENV_KEYS_TABLE = "MEDIATASKS_KEYS_TABLE"
ENV_FILES_TABLE = "MEDIATASKS_FILES_TABLE"
ENV_MEDIA_BUCKET = "MEDIATASKS_MEDIA_BUCKET"
ENV_STATE_MACHINE_ARN = "MEDIATASKS_STATE_MACHINE_ARN"
ENV_ALLOWED_INPUT_BUCKETS = "MEDIATASKS_ALLOWED_INPUT_BUCKETS"
ENV_ALLOWED_OUTPUT_BUCKETS = "MEDIATASKS_ALLOWED_OUTPUT_BUCKETS"
ENV_ALLOW_LOOPBACK_INPUTS = "MEDIATASKS_ALLOW_LOOPBACK_INPUTS"
ENV_LOCAL_SERVICE_PORTS = "MEDIATASKS_LOCAL_SERVICE_PORTS"
ENV_MAX_INPUT_BYTES = "MEDIATASKS_MAX_INPUT_BYTES"
ENV_MAX_OUTPUT_BYTES = "MEDIATASKS_MAX_OUTPUT_BYTES"
ENV_MAX_INPUT_SECONDS = "MEDIATASKS_MAX_INPUT_SECONDS"
ENV_MAX_INPUT_PIXELS = "MEDIATASKS_MAX_INPUT_PIXELS"
ENV_MAX_INPUT_FPS = "MEDIATASKS_MAX_INPUT_FPS"
ENV_FFMPEG_TIMEOUT_SECONDS = "MEDIATASKS_FFMPEG_TIMEOUT_SECONDS"
ENV_TRIGGER_BUCKET = "MEDIATASKS_TRIGGER_BUCKET"
ENV_TRIGGER_PREFIXES = "MEDIATASKS_TRIGGER_PREFIXES"
ENV_TRIGGER_RULES = "MEDIATASKS_TRIGGER_RULES"
ENV_IDEMPOTENCY_TABLE = "MEDIATASKS_IDEMPOTENCY_TABLE"
ENV_WORK_DIR = "MEDIATASKS_WORK_DIR"
ENV_SEGMENT_ABOVE_SECONDS = "MEDIATASKS_SEGMENT_ABOVE_SECONDS"
ENV_SEGMENT_SECONDS = "MEDIATASKS_SEGMENT_SECONDS"
ENV_ENCODE_MEMORY_MB = "MEDIATASKS_ENCODE_MEMORY_MB"
ENV_ENCODE_TIMEOUT_SECONDS = "MEDIATASKS_ENCODE_TIMEOUT_SECONDS"
ENV_CURSOR_SECRET_ARN = "MEDIATASKS_CURSOR_SECRET_ARN"  # noqa: S105 - a variable's name, not a secret
ENV_FFMPEG_DIR = "MEDIATASKS_FFMPEG_DIR"
ENV_WEBHOOK_SECRETS_TABLE = "MEDIATASKS_WEBHOOK_SECRETS_TABLE"
ENV_WEBHOOK_DELIVERIES_TABLE = "MEDIATASKS_WEBHOOK_DELIVERIES_TABLE"
ENV_WEBHOOK_KEY_ID = "MEDIATASKS_WEBHOOK_KEY_ID"
ENV_DELIVERY_STATE_MACHINE_ARN = "MEDIATASKS_DELIVERY_STATE_MACHINE_ARN"
ENV_WORKFLOW_STATE_MACHINE_ARN = "MEDIATASKS_WORKFLOW_STATE_MACHINE_ARN"
ENV_WEBHOOK_SECRET_GRACE_SECONDS = "MEDIATASKS_WEBHOOK_SECRET_GRACE_SECONDS"  # noqa: S105 - a name
ENV_WEBHOOK_FIRST_RETRY_SECONDS = "MEDIATASKS_WEBHOOK_FIRST_RETRY_SECONDS"
ENV_WEBHOOK_RETRY_FOR_SECONDS = "MEDIATASKS_WEBHOOK_RETRY_FOR_SECONDS"
ENV_SWEEP_AFTER_SECONDS = "MEDIATASKS_SWEEP_AFTER_SECONDS"
ENV_SWEEP_MAX_START_ATTEMPTS = "MEDIATASKS_SWEEP_MAX_START_ATTEMPTS"
ENV_SLOTS_TABLE = "MEDIATASKS_SLOTS_TABLE"
# the per-project cap on running tasks (domain/slots.RunningCaps as JSON)
ENV_RUNNING_CAPS = "MEDIATASKS_RUNNING_CAPS"
# which speech recognizer the transcribe steps use (providers/speech.py): transcribe or local
ENV_SPEECH_PROVIDER = "MEDIATASKS_SPEECH_PROVIDER"
ENV_MODERATION_PROVIDER = "MEDIATASKS_MODERATION_PROVIDER"
ENV_LANGUAGE_PROVIDER = "MEDIATASKS_LANGUAGE_PROVIDER"
ENV_BEDROCK_MODEL_ID = "MEDIATASKS_BEDROCK_MODEL_ID"
# the OpenAI-compatible endpoint a local stack's operator configured (providers/endpoint.py)
ENV_LLM_URL = "MEDIATASKS_LLM_URL"
ENV_LLM_MODEL = "MEDIATASKS_LLM_MODEL"
ENV_LLM_IMAGES = "MEDIATASKS_LLM_IMAGES"

# Logical ids in the CDK app; the local stack finds the resources of the synthesized template by them.
API_FUNCTION_ID = "ApiFunction"
PROBE_FUNCTION_ID = "ProbeFunction"
INGEST_FUNCTION_ID = "IngestFunction"
ENCODE_FUNCTION_ID = "EncodeFunction"
UPLOAD_FUNCTION_ID = "UploadFunction"
FAIL_FUNCTION_ID = "MarkFailedFunction"
TRANSCRIBE_FUNCTION_ID = "TranscribeFunction"
TRANSCRIPT_STATUS_FUNCTION_ID = "TranscriptStatusFunction"
TRACK_FUNCTION_ID = "TrackFunction"
MODERATE_FUNCTION_ID = "ModerateFunction"
MODERATION_STATUS_FUNCTION_ID = "ModerationStatusFunction"
AUTHORIZER_FUNCTION_ID = "AuthorizerFunction"
TRIGGER_FUNCTION_ID = "TriggerFunction"
# starts the automations' workflow tasks on each new media (the files table's stream)
AUTOMATIONS_FUNCTION_ID = "AutomationsFunction"
# what the deploy's custom resource sends it: write ops' automations for the trigger rules, as
# `serve` does when it starts
SEED_AUTOMATIONS_ACTION = "seed_trigger_rules"
# the segmented encode of a long video (domain/segments.py)
SPLIT_FUNCTION_ID = "SplitFunction"
SEGMENT_FUNCTION_ID = "EncodeSegmentFunction"
JOIN_FUNCTION_ID = "JoinFunction"
TRIGGER_BUCKET_ID = "TriggerBucket"
TRIGGER_QUEUE_ID = "TriggerQueue"
TRIGGER_DEAD_LETTER_QUEUE_ID = "TriggerDeadLetterQueue"
IDEMPOTENCY_TABLE_ID = "IdempotencyTable"
KEYS_TABLE_ID = "ApiKeysTable"
FILES_TABLE_ID = "FilesTable"
TASKS_TABLE_ID = "TasksTable"
CURSOR_SECRET_ID = "ListingCursorSecret"  # noqa: S105 - a logical id, not a secret
MEDIA_BUCKET_ID = "MediaBucket"
STATE_MACHINE_ID = "TaskStateMachine"
FFMPEG_LAYER_ID = "FfmpegLayer"
STACK_NAME = "MediaTasks"
WEBHOOK_SECRETS_TABLE_ID = "WebhookSecretsTable"
WEBHOOK_DELIVERIES_TABLE_ID = "WebhookDeliveriesTable"
WEBHOOK_KEY_ID = "WebhookSecretsKey"
DELIVERY_STATE_MACHINE_ID = "WebhookDeliveryStateMachine"
WORKFLOW_STATE_MACHINE_ID = "WorkflowStateMachine"
WORKFLOW_FUNCTION_ID = "WorkflowFunction"
HTTP_STEP_FUNCTION_ID = "HttpStepFunction"
WORKFLOW_ENDED_RULE_ID = "WorkflowEnded"
DELIVER_FUNCTION_ID = "DeliverWebhookFunction"
DISPATCH_FUNCTION_ID = "WebhookDispatchFunction"
RECONCILE_FUNCTION_ID = "ReconcileFunction"
SWEEP_FUNCTION_ID = "SweepFunction"
WAIT_FOR_SLOT_FUNCTION_ID = "WaitForSlotFunction"
RELEASE_SLOT_FUNCTION_ID = "ReleaseSlotFunction"
SLOTS_TABLE_ID = "RunningSlotsTable"
EXECUTION_ENDED_RULE_ID = "ExecutionEndedRule"
SWEEP_RULE_ID = "SweepRule"
# The signing secrets' KMS key, by an alias the functions, the CLI and the local stack all know.
WEBHOOK_KEY_ALIAS = f"alias/{STACK_NAME}-webhook-secrets"
# The stack's outputs, which ops read after `cdk deploy` (docs/deploy.md).
OUTPUT_API_URL = "ApiUrl"
OUTPUT_USAGE_PLAN_ID = "UsagePlanId"
OUTPUT_KEYS_TABLE = "ApiKeysTableName"
OUTPUT_MEDIA_BUCKET = "MediaBucketName"
OUTPUT_TRIGGER_BUCKET = "TriggerBucketName"
OUTPUT_ALARM_TOPIC = "AlarmTopicArn"
OUTPUT_WEBHOOK_SECRETS_TABLE = "WebhookSecretsTableName"
# The tasks table's indexes for listing a project's tasks: one per filter the API offers and sort
# order, each partitioned by an attribute naming the project and the filter's values
# ("prj_x#failed"), so a filtered listing reads only the tasks that match. Keys only: a page's tasks
# are read by key, and a task's every update does not rewrite eight copies of it.
LISTING_PARTITIONS = ("project_id", "project_status", "project_kind", "project_kind_status", "project_parent")
LISTING_SORTS = {"created": "created_at", "updated": "updated_at"}
INDEX_BY_SORT = {
    (partition, sort): f"by_{partition.removesuffix('_id')}_{sort}"
    for partition in LISTING_PARTITIONS
    for sort in LISTING_SORTS
}

# The files table holds files, media items and automations; keys-only indexes list each per project
# (newest first), a media's files, and the file a signature names by its path.
FILE_INDEXES = {
    "by_project_files": "project_files",
    "by_project_media": "project_media",
    "by_media_files": "media_id",
    "by_project_path": "project_path",
    "by_project_automations": "project_automations",
}
FILE_INDEX_SORT = "created_at"

# Prefixes in the managed bucket: finished files, and per-task scratch space removed when a task ends.
FILES_PREFIX = "files/"
WORK_PREFIX = "work/"
# uploads/<project>/[<folder>/]<filename>: what signed PUTs and multipart uploads write; each upload
# becomes a media (an ingest task copies it into files/), then expires.
UPLOADS_PREFIX = "uploads/"

# The route a signed URL (POST /signatures) points at: public, its signature is its credential.
SIGNED_ROUTE = "/signed"
# The web console's pages and files: public like the API's description (the key is typed into the page).
CONSOLE_ROUTE = "/console"

# Request size limits: the web ACL enforces them in the cloud, the local API and the API function too.
MAX_HEADER_BYTES = 8 * 1024
MAX_BODY_BYTES = 64 * 1024
MAX_PATH_BYTES = 1024
MAX_QUERY_BYTES = 2048

# What the authorizer attaches to a request whose API key is not valid (`auth_error`), for the API
# to answer token_invalid (a key that is missing has no mark).
AUTH_ERROR_INVALID_KEY = "token_invalid"
