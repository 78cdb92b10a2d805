"""Names shared by the functions, the CDK app, the local stack and the tests."""

ENV_TASKS_TABLE = "MEDIATASKS_TASKS_TABLE"
ENV_KEYS_TABLE = "MEDIATASKS_KEYS_TABLE"
ENV_FILES_TABLE = "MEDIATASKS_FILES_TABLE"
ENV_MEDIA_BUCKET = "MEDIATASKS_MEDIA_BUCKET"
ENV_STATE_MACHINE_ARN = "MEDIATASKS_STATE_MACHINE_ARN"
ENV_ALLOWED_INPUT_BUCKETS = "MEDIATASKS_ALLOWED_INPUT_BUCKETS"
ENV_ALLOWED_OUTPUT_BUCKETS = "MEDIATASKS_ALLOWED_OUTPUT_BUCKETS"
ENV_ALLOW_LOOPBACK_INPUTS = "MEDIATASKS_ALLOW_LOOPBACK_INPUTS"
ENV_MAX_INPUT_BYTES = "MEDIATASKS_MAX_INPUT_BYTES"
ENV_MAX_OUTPUT_BYTES = "MEDIATASKS_MAX_OUTPUT_BYTES"
ENV_FFMPEG_TIMEOUT_SECONDS = "MEDIATASKS_FFMPEG_TIMEOUT_SECONDS"
ENV_WORK_DIR = "MEDIATASKS_WORK_DIR"
ENV_FFMPEG_DIR = "MEDIATASKS_FFMPEG_DIR"

# Logical ids in the CDK app; the local stack finds the resources of the synthesized template by them.
API_FUNCTION_ID = "ApiFunction"
PROBE_FUNCTION_ID = "ProbeFunction"
INGEST_FUNCTION_ID = "IngestFunction"
ENCODE_FUNCTION_ID = "EncodeFunction"
UPLOAD_FUNCTION_ID = "UploadFunction"
FAIL_FUNCTION_ID = "MarkFailedFunction"
AUTHORIZER_FUNCTION_ID = "AuthorizerFunction"
KEYS_TABLE_ID = "ApiKeysTable"
FILES_TABLE_ID = "FilesTable"
TASKS_TABLE_ID = "TasksTable"
MEDIA_BUCKET_ID = "MediaBucket"
STATE_MACHINE_ID = "TaskStateMachine"
FFMPEG_LAYER_ID = "FfmpegLayer"
STACK_NAME = "MediaTasks"
# The tasks table's indexes for listing a project's tasks, one per sort order.
INDEX_BY_SORT = {"created": "by_project_created", "updated": "by_project_updated"}

# Prefixes in the managed bucket: finished files, and per-task scratch space removed when a task ends.
FILES_PREFIX = "files/"
WORK_PREFIX = "work/"
